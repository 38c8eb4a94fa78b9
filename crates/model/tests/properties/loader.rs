//! Whatever the text, loading returns Ok or Err, and a syntax error points inside the text.

use pipewright_model::{Format, LoadError, PipelineDocument};
use proptest::prelude::*;
use proptest::sample::select;

const VALID_JSON: &str = r#"{
  "pipeline": {
    "name": "demo",
    "roleArn": "arn:aws:iam::123456789012:role/pipeline",
    "artifactStore": {"type": "S3", "location": "bucket"},
    "stages": [
      {"name": "Source", "actions": [{"name": "Src",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"S3Bucket": "b", "PollForSourceChanges": "false"},
        "outputArtifacts": [{"name": "src"}], "inputArtifacts": [], "runOrder": 1}]},
      {"name": "Build", "actions": [{"name": "Run",
        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
        "configuration": {"ProjectName": "p"}, "inputArtifacts": [{"name": "src"}]}]}
    ],
    "version": 2
  },
  "metadata": {"pipelineArn": "arn", "created": 1.5}
}
"#;

const VALID_YAML: &str = "# a hand-written pipeline
name: demo
roleArn: arn:aws:iam::123456789012:role/pipeline
artifactStore: {type: S3, location: bucket}
pipelineType: V2
variables:
  - &var {name: env, defaultValue: dev}
stages:
  - name: Source
    actions:
      - name: Src
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: '1'}
        configuration:
          S3Bucket: b
          PollForSourceChanges: false
          Retries: 3
        outputArtifacts: [{name: src}]
  - name: Build
    actions:
      - name: Run
        actionTypeId:
          category: Compute
          owner: AWS
          provider: Commands
          version: \"1\"
        inputArtifacts:
          - name: src
        commands:
          - |
            echo #{variables.env}
            make
          - >-
            folded
            line
";

/// 1 plus every line break either reader counts (`\\n`, `\\r\\n`, a lone `\\r`).
fn line_count(text: &str) -> u64 {
    1 + text.matches('\n').count() as u64 + text.matches('\r').count() as u64
}

fn check_position(
    text: &str,
    result: &Result<PipelineDocument, LoadError>,
) -> Result<(), TestCaseError> {
    if let Err(error) = result {
        if let Some(line) = error.line {
            prop_assert!(
                (1..=line_count(text)).contains(&line),
                "line {} outside 1..={} for {:?}: {}",
                line,
                line_count(text),
                text,
                error
            );
        }
        if let Some(column) = error.column {
            // serde_json counts bytes and says column 0 at the very end of some inputs.
            prop_assert!(
                column <= text.len() as u64 + 1,
                "column {} past the end of {:?}: {}",
                column,
                text,
                error
            );
        }
        prop_assert!(!error.to_string().is_empty());
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, char),
    Delete(usize),
    Replace(usize, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop_oneof![
        3 => select(
            &[
                '{', '}', '[', ']', ':', ',', '"', '\'', '-', '#', '\n', '\r', ' ', '\t', '&',
                '*', '!', '|', '>', '\\', '?', '%', '@', '`', '~', '0', '1', '.', 'e', '\u{0}',
                '\u{feff}', '\u{85}', 'é',
            ][..]
        ),
        1 => any::<char>(),
    ];
    prop_oneof![
        (any::<usize>(), ch.clone()).prop_map(|(at, c)| Edit::Insert(at, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), ch).prop_map(|(at, c)| Edit::Replace(at, c)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let len = chars.len().max(1);
        match *edit {
            Edit::Insert(at, c) => chars.insert(at % (chars.len() + 1), c),
            Edit::Delete(at) if !chars.is_empty() => {
                chars.remove(at % len);
            }
            Edit::Replace(at, c) if !chars.is_empty() => chars[at % len] = c,
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn load_both(text: &str) -> Result<(), TestCaseError> {
    for format in [Format::Json, Format::Yaml] {
        let result = PipelineDocument::parse(text, format);
        check_position(text, &result)?;
    }
    Ok(())
}

#[test]
fn the_base_documents_are_valid() {
    for (text, format) in [(VALID_JSON, Format::Json), (VALID_YAML, Format::Yaml)] {
        let doc = PipelineDocument::parse(text, format).expect("base document loads");
        assert_eq!(doc.pipeline.stages.len(), 2);
    }
    let doc = PipelineDocument::parse(VALID_YAML, Format::Yaml).expect("loads");
    assert_eq!(
        doc.pipeline.stages[1].actions[0].commands(),
        ["echo #{variables.env}\nmake\n", "folded line"]
    );
    assert_eq!(
        doc.pipeline.stages[0].actions[0].config("PollForSourceChanges"),
        Some("false")
    );
}

/// Inputs known to upset YAML and JSON readers.
#[test]
fn hostile_inputs_are_errors_not_panics() {
    let laughs = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    let deep_maps = format!("{}x", "a:\n ".repeat(400));
    let deep_flow = format!("{}{}", "{a: ".repeat(500), "}".repeat(500));
    let inputs: Vec<String> = vec![
        String::new(),
        "\n".into(),
        "\u{feff}".into(),
        "\u{feff}{}".into(),
        "null".into(),
        "~".into(),
        "---\n---\n".into(),
        "name: a\n---\nname: b\n".into(),
        "*undefined".into(),
        "&a [*a]".into(),
        "<<: {name: p}\nstages: []\n".into(),
        "!!binary aGVsbG8=".into(),
        "!custom {name: p, stages: []}".into(),
        "%YAML 1.3\n---\nname: p\n".into(),
        "{\"pipeline\": null}".into(),
        "{\"pipeline\": 1, \"stages\": 2}".into(),
        "{\"name\": \"p\", \"stages\": [], \"version\": -1}".into(),
        "{\"name\": \"p\", \"stages\": [], \"version\": 1e99}".into(),
        "{\"name\": \"p\", \"stages\": [], \"name\": \"q\"}".into(),
        "name: p\nname: q\nstages: []\n".into(),
        "{? [a, b]: c}".into(),
        "[1, 2".into(),
        "\"\\ud800\"".into(),
        "{\"a\": 1e999999}".into(),
        "\t{}".into(),
        "name: p\nstages:\n\t- x\n".into(),
        laughs.into(),
        deep_maps,
        deep_flow,
        "[".repeat(200),
        "- ".repeat(300),
    ];
    for text in &inputs {
        load_both(text).expect("positions lie inside the text");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in prop_oneof!["\\PC{0,64}", "(?s).{0,64}"]) {
        load_both(&text)?;
    }

    #[test]
    fn mutated_json_never_panics(edits in prop::collection::vec(edit(), 1..8)) {
        load_both(&apply(VALID_JSON, &edits))?;
    }

    #[test]
    fn mutated_yaml_never_panics(edits in prop::collection::vec(edit(), 1..8)) {
        load_both(&apply(VALID_YAML, &edits))?;
    }

    #[test]
    fn mutated_saved_yaml_never_panics(edits in prop::collection::vec(edit(), 1..8)) {
        let doc = PipelineDocument::parse(VALID_JSON, Format::Json).expect("base loads");
        load_both(&apply(&doc.to_text(Format::Yaml), &edits))?;
    }
}

/// Deep nesting is refused, not followed until the stack runs out: a stack overflow aborts the
/// whole process, and test threads, tokio workers and `spawn_blocking` threads have 2 MiB.
#[test]
fn deep_nesting_fits_a_two_mebibyte_stack() {
    let block_maps =
        |n: usize| -> String { (0..n).map(|i| format!("{}a:\n", " ".repeat(i))).collect() };
    let mut inputs: Vec<(Format, String)> = Vec::new();
    for n in [60, 64, 65, 100, 127, 128, 129, 300] {
        inputs.push((Format::Yaml, "- ".repeat(n)));
        inputs.push((Format::Yaml, block_maps(n)));
        inputs.push((Format::Yaml, format!("{}{}", "[".repeat(n), "]".repeat(n))));
        inputs.push((
            Format::Yaml,
            format!(
                "{{name: p, stages: [], x: {}{}}}",
                "{a: ".repeat(n),
                "}".repeat(n)
            ),
        ));
        inputs.push((
            Format::Json,
            format!(
                r#"{{"name": "p", "stages": [], "x": {}1{}}}"#,
                r#"{"a": "#.repeat(n),
                "}".repeat(n)
            ),
        ));
    }
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for (format, text) in &inputs {
                if let Ok(doc) = PipelineDocument::parse(text, *format) {
                    // A deep unknown field read from JSON is saved as YAML; reading that back
                    // must not crash either.
                    let yaml = doc.to_text(Format::Yaml);
                    let _ = PipelineDocument::parse(&yaml, Format::Yaml);
                }
            }
        })
        .expect("spawn a 2 MiB thread");
    worker.join().expect("no panic");
    // The bound is well above what a real declaration needs.
    let ok = format!(
        "name: p\nstages: []\nx: {}1{}\n",
        "[".repeat(60),
        "]".repeat(60)
    );
    assert!(PipelineDocument::parse(&ok, Format::Yaml).is_ok());
}
