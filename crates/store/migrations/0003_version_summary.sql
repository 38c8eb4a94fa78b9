-- ListPipelines shows each pipeline's type and execution mode. Keeping them beside the
-- declaration spares parsing every declaration on every listing.
ALTER TABLE pipeline_versions ADD COLUMN pipeline_type TEXT;
ALTER TABLE pipeline_versions ADD COLUMN execution_mode TEXT;
UPDATE pipeline_versions
SET pipeline_type = json_extract(declaration, '$.pipelineType'),
    execution_mode = json_extract(declaration, '$.executionMode');
