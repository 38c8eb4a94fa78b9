-- Tags of pipelines (TagResource, UntagResource, ListTagsForResource), keyed by pipeline name:
-- the ARN is derived from it. Deleting a pipeline deletes its tags.
CREATE TABLE tags (
    pipeline  TEXT NOT NULL REFERENCES pipelines(name) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (pipeline, key)
);
