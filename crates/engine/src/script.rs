//! Shell scripts for CodeBuild-style phases. Written by a helper.
