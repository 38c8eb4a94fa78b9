//! A pipeline file: the declaration in one of the three shapes users have, in JSON or YAML.
//!
//! Text is first parsed into a generic value (syntax errors carry line and column), the shape is
//! recognised on that value, and only then is the declaration read into types (type errors carry
//! the JSON path of the offending field). Saving writes the shape and the key order that were
//! loaded, so an unchanged file saves as what it was.

use indexmap::IndexMap;
use serde_json::Value;

use crate::PipelineDeclaration;

/// Larger files are refused before parsing. CodePipeline itself refuses declarations far smaller
/// than this; the bound only keeps a mistaken `import /dev/zero`-style input from eating memory.
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024 * 1024;

/// serde_json stops at 128 levels of nesting on its own. YAML stops at serde-saphyr's default of
/// 64: its deserializer spends far more stack per level, and at ~100 levels it overflows a 2 MiB
/// thread stack (test and tokio threads), which aborts the process. A real declaration nests
/// fewer than 15 levels.
const MAX_YAML_DEPTH: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// By file extension; anything but `.yaml`/`.yml` is read as JSON only if it looks like JSON.
    pub fn guess(file_name: &str, text: &str) -> Format {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Yaml
        } else if lower.ends_with(".json") || text.trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}

/// The three shapes a user has a pipeline in.
#[derive(Clone, Debug, PartialEq)]
pub enum DocumentShape {
    /// The `PipelineDeclaration` itself.
    Bare,
    /// `{"pipeline": ..., "metadata": ...}` as `get-pipeline` prints it, or
    /// `{"pipeline": ..., "tags": ...}` as `create-pipeline --cli-input-json` takes it. Every
    /// top-level key is kept in order; the `pipeline` entry is rewritten from the declaration.
    Wrapped { top_level: IndexMap<String, Value> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct PipelineDocument {
    pub shape: DocumentShape,
    pub pipeline: PipelineDeclaration,
}

/// Why a document could not be read. `line`/`column` are 1-based and present for syntax errors,
/// and for errors of structure or type in text; `path` is a JSON pointer and present for errors of
/// structure or type.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct LoadError {
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub path: Option<String>,
    pub message: String,
}

impl LoadError {
    fn render(&self) -> String {
        let mut out = String::new();
        if let (Some(line), Some(column)) = (self.line, self.column) {
            out.push_str(&format!("line {line}, column {column}: "));
        }
        if let Some(path) = &self.path {
            out.push_str(&format!(
                "at {}: ",
                if path.is_empty() { "/" } else { path }
            ));
        }
        out.push_str(&self.message);
        out
    }

    fn message(message: impl Into<String>) -> Self {
        LoadError {
            line: None,
            column: None,
            path: None,
            message: message.into(),
        }
    }
}

impl PipelineDocument {
    pub fn from_declaration(pipeline: PipelineDeclaration) -> Self {
        PipelineDocument {
            shape: DocumentShape::Bare,
            pipeline,
        }
    }

    /// Reads a pipeline from text in the given format, in any of the three shapes. An error of
    /// structure or type says where in the text it is, as well as its JSON path.
    pub fn parse(text: &str, format: Format) -> Result<Self, LoadError> {
        Self::from_value(parse_value(text, format)?).map_err(|mut error| {
            if let (None, Some(path)) = (error.line, &error.path)
                && let Some((line, column)) = crate::locate::locate(text, path)
            {
                error.line = Some(line);
                error.column = Some(column);
            }
            error
        })
    }

    /// Recognises the shape of an already parsed document.
    pub fn from_value(value: Value) -> Result<Self, LoadError> {
        let Value::Object(top) = value else {
            return Err(LoadError {
                path: Some(String::new()),
                message: format!(
                    "expected an object (a pipeline declaration, or {{\"pipeline\": ...}}), found {}",
                    kind_of(&value)
                ),
                ..LoadError::message("")
            });
        };
        if top.contains_key("pipeline") && !top.contains_key("stages") {
            let mut top_level: IndexMap<String, Value> = top.into_iter().collect();
            let inner = top_level.get("pipeline").cloned().unwrap_or(Value::Null);
            let pipeline = declaration_from_value(inner, "/pipeline")?;
            if let Some(tags) = top_level.get("tags") {
                tags_from_value(tags)?;
            }
            // The declaration is the source of truth from here on; keep a placeholder so the
            // key keeps its position on save.
            top_level.insert("pipeline".to_owned(), Value::Null);
            Ok(PipelineDocument {
                shape: DocumentShape::Wrapped { top_level },
                pipeline,
            })
        } else {
            let pipeline = declaration_from_value(Value::Object(top), "")?;
            Ok(PipelineDocument {
                shape: DocumentShape::Bare,
                pipeline,
            })
        }
    }

    /// `metadata` of a `get-pipeline` document (pipelineArn, created, updated), if any.
    pub fn metadata(&self) -> Option<&Value> {
        self.top_level_entry("metadata")
    }

    /// `tags` of a `create-pipeline` document (`[{"key": K, "value": V}]`), as (key, value)
    /// pairs; none for the other shapes. Their shape was checked when the document was read.
    pub fn tags(&self) -> Vec<(String, String)> {
        self.top_level_entry("tags")
            .and_then(|tags| tags_from_value(tags).ok())
            .unwrap_or_default()
    }

    fn top_level_entry(&self, key: &str) -> Option<&Value> {
        match &self.shape {
            DocumentShape::Bare => None,
            DocumentShape::Wrapped { top_level } => top_level.get(key),
        }
    }

    /// The document as a JSON value, in the shape it was loaded in.
    pub fn to_value(&self) -> Value {
        let declaration = declaration_to_value(&self.pipeline);
        match &self.shape {
            DocumentShape::Bare => declaration,
            DocumentShape::Wrapped { top_level } => {
                let mut out = serde_json::Map::new();
                for (key, value) in top_level {
                    let value = if key == "pipeline" {
                        declaration.clone()
                    } else {
                        value.clone()
                    };
                    out.insert(key.clone(), value);
                }
                Value::Object(out)
            }
        }
    }

    pub fn to_text(&self, format: Format) -> String {
        render(&self.to_value(), format)
    }
}

/// Renders any JSON value as JSON (pretty, newline-terminated) or YAML.
pub fn render(value: &Value, format: Format) -> String {
    match format {
        Format::Json => {
            // Serialising a `Value` cannot fail: its keys are strings and it holds no floats
            // that JSON cannot express.
            let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Yaml => serde_saphyr::to_string(value).unwrap_or_default(),
    }
}

pub(crate) fn declaration_to_value(pipeline: &PipelineDeclaration) -> Value {
    serde_json::to_value(pipeline).unwrap_or(Value::Null)
}

fn declaration_from_value(value: Value, prefix: &str) -> Result<PipelineDeclaration, LoadError> {
    serde_path_to_error::deserialize::<_, PipelineDeclaration>(value).map_err(|error| {
        let path = format!("{prefix}{}", json_pointer(error.path()));
        LoadError {
            line: None,
            column: None,
            path: Some(path),
            message: error.into_inner().to_string(),
        }
    })
}

/// `[{"key": K, "value": V}]`, as CreatePipeline takes tags.
fn tags_from_value(tags: &Value) -> Result<Vec<(String, String)>, LoadError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Tag {
        key: String,
        value: String,
    }
    serde_path_to_error::deserialize::<_, Vec<Tag>>(tags.clone())
        .map(|tags| tags.into_iter().map(|t| (t.key, t.value)).collect())
        .map_err(|error| LoadError {
            line: None,
            column: None,
            path: Some(format!("/tags{}", json_pointer(error.path()))),
            message: error.into_inner().to_string(),
        })
}

/// serde_path_to_error prints `stages[0].actions[1].name`; diagnostics everywhere else use JSON
/// pointers, so errors do too.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { variant } => out.push_str(&format!("/{variant}")),
            Segment::Unknown => {}
        }
    }
    out
}

/// Any JSON or YAML document (not only a pipeline) as a value, with the same limits and the same
/// errors (line and column) as pipeline files.
pub fn parse_value(text: &str, format: Format) -> Result<Value, LoadError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(LoadError::message(format!(
            "the document is {} bytes; Pipewright reads files of at most {} bytes",
            text.len(),
            MAX_DOCUMENT_BYTES
        )));
    }
    match format {
        Format::Json => parse_json(text),
        Format::Yaml => parse_yaml(text),
    }
}

fn parse_json(text: &str) -> Result<Value, LoadError> {
    serde_json::from_str(text).map_err(|error| LoadError {
        line: Some(error.line() as u64),
        column: Some(error.column() as u64),
        path: None,
        message: json_message(&error),
    })
}

/// serde_json appends " at line L column C" to its messages; the position is reported separately.
fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

fn parse_yaml(text: &str) -> Result<Value, LoadError> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_YAML_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    serde_saphyr::from_str_with_options::<Value>(text, options).map_err(|error| {
        let location = error.location();
        LoadError {
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            path: None,
            message: yaml_message(&error),
        }
    })
}

/// The first line of serde-saphyr's message, without its own position suffix or source snippet.
fn yaml_message(error: &serde_saphyr::Error) -> String {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    match first.rfind(" at line ") {
        Some(cut) => first[..cut].to_owned(),
        None => first.to_owned(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARE: &str = r#"{"name": "p", "roleArn": "arn:aws:iam::1:role/r",
        "stages": [{"name": "S", "actions": [{"name": "A",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"S3Bucket": "b"}, "outputArtifacts": [{"name": "out"}], "inputArtifacts": [],
        "futureField": {"x": 1}}]}], "version": 3}"#;

    #[test]
    fn bare_document_round_trips_with_unknown_fields() {
        let doc = PipelineDocument::parse(BARE, Format::Json).expect("parses");
        assert_eq!(doc.shape, DocumentShape::Bare);
        let original: Value = serde_json::from_str(BARE).expect("json");
        assert_eq!(doc.to_value(), original);
    }

    #[test]
    fn get_pipeline_shape_keeps_metadata_aside() {
        let text = format!(
            r#"{{"pipeline": {BARE}, "metadata": {{"pipelineArn": "arn", "created": 1.5}}}}"#
        );
        let doc = PipelineDocument::parse(&text, Format::Json).expect("parses");
        assert_eq!(doc.pipeline.name, "p");
        assert_eq!(
            doc.metadata().and_then(|m| m.get("pipelineArn")),
            Some(&Value::from("arn"))
        );
        assert_eq!(
            doc.to_value(),
            serde_json::from_str::<Value>(&text).expect("json")
        );
    }

    #[test]
    fn yaml_round_trips_through_json_value() {
        let doc = PipelineDocument::parse(BARE, Format::Json).expect("parses");
        let yaml = doc.to_text(Format::Yaml);
        let again = PipelineDocument::parse(&yaml, Format::Yaml).expect("yaml parses");
        assert_eq!(again, doc);
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let error =
            PipelineDocument::parse("{\n  \"name\": \"p\",\n  \"stages\": [,]\n}", Format::Json)
                .expect_err("bad json");
        assert_eq!((error.line, error.column), (Some(3), Some(14)));
    }

    #[test]
    fn type_error_names_the_json_path_line_and_column() {
        /// The 1-based line and column of the first `needle` in `text`.
        fn position(text: &str, needle: &str) -> (Option<u64>, Option<u64>) {
            let offset = text.find(needle).expect("needle");
            let line = text[..offset].matches('\n').count() as u64 + 1;
            let column = (offset - text[..offset].rfind('\n').map_or(0, |n| n + 1)) as u64 + 1;
            (Some(line), Some(column))
        }
        let text = BARE.replace("\"version\": 3", "\"version\": \"three\"");
        let error = PipelineDocument::parse(&text, Format::Json).expect_err("bad type");
        assert_eq!(error.path.as_deref(), Some("/version"));
        assert_eq!((error.line, error.column), position(&text, "\"three\""));
        assert!(error.to_string().starts_with("line 5, column "), "{error}");
        let text = BARE.replace(r#""name": "A""#, r#""name": 7"#);
        let error = PipelineDocument::parse(&text, Format::Json).expect_err("bad type");
        assert_eq!(error.path.as_deref(), Some("/stages/0/actions/0/name"));
        assert_eq!((error.line, error.column), position(&text, "7"));

        let yaml = "pipeline:\n  name: p\n  roleArn: r\n  stages:\n    - name: S\n      actions:\n        - name: A\n          runOrder: first\n";
        let error = PipelineDocument::parse(yaml, Format::Yaml).expect_err("bad type");
        assert_eq!(
            error.path.as_deref(),
            Some("/pipeline/stages/0/actions/0/runOrder")
        );
        assert_eq!((error.line, error.column), position(yaml, "first"));
    }

    #[test]
    fn tags_of_a_create_pipeline_document_are_checked_when_read() {
        let good =
            format!(r#"{{"pipeline": {BARE}, "tags": [{{"key": "team", "value": "web"}}]}}"#);
        let doc = PipelineDocument::parse(&good, Format::Json).expect("parses");
        assert_eq!(doc.tags(), [("team".to_owned(), "web".to_owned())]);
        let bad =
            format!("{{\"pipeline\": {BARE},\n \"tags\": [{{\"key\": \"team\", \"value\": 7}}]}}");
        let error =
            PipelineDocument::parse(&bad, Format::Json).expect_err("a number is no tag value");
        assert_eq!(error.path.as_deref(), Some("/tags/0/value"));
        assert_eq!(error.line, Some(6), "{error}");
        assert!(
            PipelineDocument::parse(BARE, Format::Json)
                .expect("bare")
                .tags()
                .is_empty()
        );
    }

    #[test]
    fn deep_nesting_is_refused_in_both_formats() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(PipelineDocument::parse(&deep, Format::Json).is_err());
        assert!(PipelineDocument::parse(&deep, Format::Yaml).is_err());
    }

    #[test]
    fn yaml_scalars_in_configuration_become_strings() {
        let yaml = "name: p\nstages:\n  - name: S\n    actions:\n      - name: A\n        actionTypeId: {category: Deploy, owner: AWS, provider: S3, version: '1'}\n        configuration: {Extract: false, Retries: 3}\n";
        let doc = PipelineDocument::parse(yaml, Format::Yaml).expect("parses");
        let action = &doc.pipeline.stages[0].actions[0];
        assert_eq!(action.config("Extract"), Some("false"));
        assert_eq!(action.config("Retries"), Some("3"));
    }

    #[test]
    fn yaml_scalars_in_commands_are_the_commands_they_spell() {
        let yaml = "name: p\nstages:\n  - name: S\n    actions:\n      - name: A\n        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: '1'}\n        commands: [true, 1, echo hi]\n";
        let doc = PipelineDocument::parse(yaml, Format::Yaml).expect("parses");
        assert_eq!(
            doc.pipeline.stages[0].actions[0].commands(),
            ["true", "1", "echo hi"]
        );
    }
}
