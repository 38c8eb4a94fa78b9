//! The one status vocabulary, spelled as CodePipeline spells it. Local and AWS pipelines are shown
//! with these words in every view.

use serde::{Deserialize, Serialize};

macro_rules! status_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant)),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $(stringify!($variant) => Some(Self::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum!(
    /// A pipeline execution's status.
    ExecutionStatus { InProgress, Stopping, Stopped, Succeeded, Superseded, Failed, Cancelled }
);

status_enum!(
    /// A stage execution's status.
    StageStatus { InProgress, Stopping, Stopped, Succeeded, Failed, Cancelled, Skipped }
);

status_enum!(
    /// An action execution's status.
    ActionStatus { InProgress, Abandoned, Succeeded, Failed }
);

impl ExecutionStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, Self::InProgress | Self::Stopping)
    }
}

impl StageStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, Self::InProgress | Self::Stopping)
    }
}
