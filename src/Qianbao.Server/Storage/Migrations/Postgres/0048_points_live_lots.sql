-- Issue 13: a person's points lots with points left, in the order redemptions consume them, with what is left of each. A person
-- who earns on every payment holds hundreds of lots, nearly all spent; the usable sum at every payment, the payment batch's guard
-- and its redemption walked all of them through points_lots_user (a table visit each, to read `remaining`). Every read of one
-- person's lots now says `remaining <> 0` (the same rows: remaining is never negative), which this index alone implies, and reads
-- only the live lots, most from the index itself. It replaces points_lots_user, which no statement needs any more: an update that
-- empties a lot writes no entry here (a user index kept an entry of every lot for good).
CREATE INDEX points_lots_live ON points_lots (user_id, expires_at_us, earned_at_us, id) INCLUDE (remaining) WHERE remaining <> 0;
DROP INDEX points_lots_user;
