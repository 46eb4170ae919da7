-- Per AML subject, a version of its movement log and hits (see the PostgreSQL migration of the same number).
CREATE TABLE aml_subjects (
    subject_id  TEXT    PRIMARY KEY,
    version     INTEGER NOT NULL
);
INSERT INTO aml_subjects (subject_id, version) SELECT DISTINCT subject_id, 1 FROM aml_movements;
