-- Verified users for the operator KPIs (issue 12), kept by the analytics subscriber from identity.verified events: one row per
-- user (a user is verified once; a redelivered event adds nothing), with the China day of the verification.
CREATE TABLE analytics_verified_users (
    user_id   uuid    PRIMARY KEY,
    day       integer NOT NULL
);
CREATE INDEX analytics_verified_users_day ON analytics_verified_users (day);

-- Verifications made before the event existed have no event: taken once, here, from Identity's security log (the China day
-- of a Unix-microsecond instant is (us + 8 h) div 1 day). From now on only the events feed this table.
INSERT INTO analytics_verified_users (user_id, day)
SELECT user_id, CAST(MIN((created_at_us + 28800000000) / 86400000000) AS integer)
FROM security_events WHERE kind = 'identity_verified' AND user_id IS NOT NULL GROUP BY user_id;
