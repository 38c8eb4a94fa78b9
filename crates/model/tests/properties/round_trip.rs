//! Every declaration saves and loads back as itself, in JSON and YAML, bare and wrapped.

use pipewright_model::{DocumentShape, Format, PipelineDocument, render};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::strategies::{TRICKY, declaration, json_value, tricky_string};

fn parse(text: &str, format: Format) -> PipelineDocument {
    match PipelineDocument::parse(text, format) {
        Ok(doc) => doc,
        Err(error) => panic!("{format:?} written by to_text does not load: {error}\n{text}"),
    }
}

/// Loads `value` rendered in `format` and checks it saves as the identical value, and that saving
/// and loading once more changes nothing.
fn value_round_trips(value: &Value, format: Format) -> Result<(), TestCaseError> {
    let text = render(value, format);
    let doc = parse(&text, format);
    prop_assert_eq!(&doc.to_value(), value, "{:?} text:\n{}", format, text);
    let again = parse(&doc.to_text(format), format);
    prop_assert_eq!(&again, &doc);
    Ok(())
}

/// Found by `bare_declarations_round_trip`: without serde_json's `float_roundtrip` feature these
/// read back one ULP off, so an unknown numeric field changed on a load/save round trip.
#[test]
fn hard_floats_in_unknown_fields_round_trip() {
    for number in [
        "1.6600991782737066e-254",
        "5e-324",
        "1.7976931348623157e308",
        "0.1",
        "-0.0",
    ] {
        let text = format!(r#"{{"name": "p", "stages": [], "x": [{number}]}}"#);
        let original: Value = serde_json::from_str(&text).expect("JSON");
        let number: f64 = number.parse().expect("a float");
        assert_eq!(
            original.pointer("/x/0").and_then(Value::as_f64),
            Some(number)
        );
        for format in [Format::Json, Format::Yaml] {
            value_round_trips(&original, format).expect("round trips");
        }
    }
}

/// Every string YAML is known to reinterpret, in every place a string goes: names, configuration
/// keys and values, commands, unknown keys and values, and the wrapper's metadata.
#[test]
fn every_tricky_string_round_trips_everywhere() {
    for s in TRICKY {
        let declaration = json!({
            "name": s,
            "roleArn": s,
            "stages": [{"name": s, "actions": [{
                "name": s,
                "actionTypeId": {"category": s, "owner": s, "provider": s, "version": s},
                "configuration": {*s: s, "k": s},
                "commands": [s, s],
                "outputArtifacts": [{"name": s, "files": [s]}],
                "namespace": s,
                "environmentVariables": [{"name": s, "value": s, "type": s}],
                *s: [s, {*s: s}],
            }]}],
            "variables": [{"name": s, "defaultValue": s, "description": s}],
            "extra": s,
        });
        let wrapped = json!({"pipeline": declaration.clone(), "metadata": {*s: s}, "tags": [{"key": s, "value": s}]});
        for value in [&declaration, &wrapped] {
            for format in [Format::Json, Format::Yaml] {
                let text = render(value, format);
                let doc = parse(&text, format);
                assert_eq!(&doc.to_value(), value, "{s:?} in {format:?}:\n{text}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn bare_declarations_round_trip(pipeline in declaration(1..=5, 1..=6)) {
        let doc = PipelineDocument::from_declaration(pipeline);
        for format in [Format::Json, Format::Yaml] {
            let text = doc.to_text(format);
            let again = parse(&text, format);
            prop_assert_eq!(&again.shape, &DocumentShape::Bare);
            prop_assert_eq!(&again, &doc, "{:?} text:\n{}", format, text);
        }
    }

    #[test]
    fn wrapped_shapes_round_trip(
        pipeline in declaration(1..=3, 1..=3),
        metadata_extra in json_value(),
        tag_key in tricky_string(),
        tag_value in tricky_string(),
        after in prop::option::of(json_value()),
    ) {
        let declaration = serde_json::to_value(&pipeline).expect("a declaration serialises");
        let get_pipeline = json!({
            "pipeline": declaration.clone(),
            "metadata": {
                "pipelineArn": "arn:aws:codepipeline:us-east-1:123456789012:p",
                "created": "2024-03-01T10:00:00.123000+00:00",
                "updated": 1_709_287_200.5,
                "extra": metadata_extra,
            },
        });
        let mut create_pipeline = json!({
            "tags": [{"key": tag_key, "value": tag_value}],
            "pipeline": declaration,
        });
        if let (Some(after), Some(top)) = (after, create_pipeline.as_object_mut()) {
            top.insert("zzAfter".to_owned(), after);
        }
        for value in [&get_pipeline, &create_pipeline] {
            for format in [Format::Json, Format::Yaml] {
                value_round_trips(value, format)?;
            }
        }
    }

    /// Configuration values are strings on AWS; whatever a string looks like, it must come back
    /// from YAML as that string and not as a boolean, number or null turned back into text.
    #[test]
    fn configuration_strings_stay_strings_in_yaml(key in tricky_string(), value in tricky_string()) {
        let text = format!(
            r#"{{"name": "p", "stages": [{{"name": "S", "actions": [{{"name": "A",
            "actionTypeId": {{"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}},
            "configuration": {}}}]}}]}}"#,
            json!({ key.clone(): value.clone() })
        );
        let doc = parse(&text, Format::Json);
        let yaml = doc.to_text(Format::Yaml);
        let again = parse(&yaml, Format::Yaml);
        prop_assert_eq!(
            again.pipeline.stages[0].actions[0].config(&key),
            Some(value.as_str()),
            "yaml:\n{}",
            yaml
        );
    }
}
