//! The catalog of AWS action types: for each category/owner/provider/version, its configuration
//! properties (required, secret, queryable, allowed values), how many input and output artifacts it
//! takes, whether it needs a V2 pipeline, and a line of what it does with the page of the AWS
//! action structure reference that documents it.
//!
//! One source for everyone who needs to know what an action type takes: `validate` checks
//! declarations against it, `serve` answers ListActionTypes from it, and the designer builds its
//! action forms from the same JSON file (`action_types.json`, imported by the UI). The facts come
//! from the action structure reference (sources in `SOURCES.md` beside it).

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::ActionTypeId;

/// What `get-pipeline` puts in place of a secret configuration value (a GitHub OAuth token, say).
pub const MASKED_VALUE: &str = "****";

/// One action type, as the catalog file spells it.
#[derive(Clone, Debug, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionTypeSpec {
    pub category: String,
    pub owner: String,
    pub provider: String,
    pub version: String,
    /// Only a V2 pipeline may use it; CreatePipeline refuses it in a V1 pipeline.
    #[serde(default)]
    pub requires_v2: bool,
    /// Where the reference says so, when `requires_v2` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub v2_note: Option<String>,
    pub input_artifacts: ArtifactCount,
    pub output_artifacts: ArtifactCount,
    pub summary: String,
    /// The page of the AWS action structure reference.
    pub reference: String,
    pub properties: Vec<PropertySpec>,
}

/// How many artifacts an action type takes or gives, as ListActionTypes' `ArtifactDetails`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactCount {
    pub minimum_count: usize,
    pub maximum_count: usize,
}

impl ArtifactCount {
    pub fn allows(self, count: usize) -> bool {
        (self.minimum_count..=self.maximum_count).contains(&count)
    }
}

/// One configuration property, as ListActionTypes' `ActionConfigurationProperty` plus what the
/// reference adds (conditions and allowed values).
#[derive(Clone, Debug, Deserialize, Serialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PropertySpec {
    pub name: String,
    pub required: bool,
    /// Required only in some cases (which, the description says); never reported as missing.
    #[serde(default)]
    pub conditional: bool,
    pub key: bool,
    /// AWS masks it (`****`) in GetPipeline; the designer hides it while typing.
    pub secret: bool,
    pub queryable: bool,
    #[serde(rename = "type")]
    pub kind: PropertyKind,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub allowed_values: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, TS)]
pub enum PropertyKind {
    String,
    Number,
    Boolean,
}

static CATALOG: LazyLock<Vec<ActionTypeSpec>> = LazyLock::new(|| {
    // The file is part of the build and checked by `the_catalog_reads_and_is_consistent`; a
    // broken one cannot reach a user.
    serde_json::from_str(include_str!("action_types.json")).expect("action_types.json is valid")
});

/// Every action type the catalog knows.
pub fn action_types() -> &'static [ActionTypeSpec] {
    &CATALOG
}

/// The catalog's entry for an action type id, if it has one.
pub fn find(id: &ActionTypeId) -> Option<&'static ActionTypeSpec> {
    action_types().iter().find(|spec| {
        spec.category == id.category.as_str()
            && spec.owner == id.owner.as_str()
            && spec.provider == id.provider
            && spec.version == id.version
    })
}

/// Whether the catalog knows this provider under this category and owner, in any version.
pub fn knows_provider(id: &ActionTypeId) -> bool {
    action_types().iter().any(|spec| {
        spec.category == id.category.as_str()
            && spec.owner == id.owner.as_str()
            && spec.provider == id.provider
    })
}

impl ActionTypeSpec {
    pub fn property(&self, name: &str) -> Option<&PropertySpec> {
        self.properties.iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_catalog_reads_and_is_consistent() {
        let types = action_types();
        assert!(types.len() >= 20, "only {} action types", types.len());
        let mut seen = HashSet::new();
        for spec in types {
            let id = (&spec.category, &spec.owner, &spec.provider, &spec.version);
            assert!(seen.insert(id), "{id:?} is in the catalog twice");
            for count in [spec.input_artifacts, spec.output_artifacts] {
                assert!(
                    count.minimum_count <= count.maximum_count,
                    "{id:?}: {count:?}"
                );
            }
            assert!(
                spec.reference.starts_with("https://docs.aws.amazon.com/"),
                "{id:?}"
            );
            let mut names = HashSet::new();
            for property in &spec.properties {
                assert!(
                    names.insert(&property.name),
                    "{id:?}: {} twice",
                    property.name
                );
                assert!(
                    !(property.required && property.conditional),
                    "{id:?}: {} is both required and conditional",
                    property.name
                );
            }
        }
    }
}
