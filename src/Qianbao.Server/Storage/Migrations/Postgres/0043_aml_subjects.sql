-- Per AML subject, a version of its movement log and hits: bumped in the AML subscriber's write transaction of every batch
-- that logs a movement of the subject. The subscriber keeps each subject's recent window in memory tagged with the version it
-- matched and trusts it only while the stored version is still that one (a batch reads one row per subject instead of the
-- window); any other writer of the subject's movements (another process that took the lease) moves the version on.
CREATE TABLE aml_subjects (
    subject_id  uuid   PRIMARY KEY,
    version     bigint NOT NULL
);
INSERT INTO aml_subjects (subject_id, version) SELECT DISTINCT subject_id, 1 FROM aml_movements;
