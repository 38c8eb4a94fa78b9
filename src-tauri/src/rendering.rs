//! How the window is drawn. WebKitGTK composites the page with OpenGL. On a machine with no GPU
//! (a virtual machine, a remote desktop, Xvfb) that OpenGL is Mesa's software rasterizer, and
//! a frame of a large pipeline in the designer then takes hundreds of milliseconds: dragging in
//! a 2,500-action pipeline had frames of 500-700 ms, against at most about 40 ms when WebKit
//! draws without compositing (tests/bench/desktop.sh). So with no GPU the window is drawn
//! without compositing; `PIPEWRIGHT_HARDWARE_ACCELERATION=always|never` overrides the choice.

use std::path::Path;

/// Whether the window should composite with OpenGL, and why: what the start-up line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub accelerate: bool,
    pub reason: String,
}

const OVERRIDE: &str = "PIPEWRIGHT_HARDWARE_ACCELERATION";

/// Decides from the override, else from whether the kernel offers a GPU render node this user can
/// open (`/dev/dri/renderD*`, which the kernel's GPU drivers create, NVIDIA's with nvidia-drm;
/// one the user may not open, outside the `render` group, is no use to WebKit either).
pub fn choose(overridden: Option<&str>, dri: &Path) -> Result<Choice, String> {
    match overridden.map(str::trim) {
        Some("always") => Ok(Choice {
            accelerate: true,
            reason: format!("{OVERRIDE}=always"),
        }),
        Some("never") => Ok(Choice {
            accelerate: false,
            reason: format!("{OVERRIDE}=never"),
        }),
        Some(other) => Err(format!(
            "{OVERRIDE}={other:?} is not a choice: use `always` or `never`"
        )),
        None => Ok(detect(dri)),
    }
}

/// Whether a GPU render node this user can open is in `dri`.
fn detect(dri: &Path) -> Choice {
    let render_node = std::fs::read_dir(dri).ok().is_some_and(|entries| {
        entries.flatten().any(|entry| {
            entry.file_name().to_string_lossy().starts_with("renderD")
                && std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(entry.path())
                    .is_ok()
        })
    });
    Choice {
        accelerate: render_node,
        reason: if render_node {
            format!("a GPU render node is in {}", dri.display())
        } else {
            format!(
                "no GPU render node in {} (set {OVERRIDE}=always to composite anyway)",
                dri.display()
            )
        },
    }
}

/// Applies the choice to the main window's web view and says what it chose when it turns
/// compositing off (a GPU machine is left as WebKit sets it, and says nothing). Linux only:
/// WebView2 (Windows) and WKWebView (macOS) choose for themselves.
pub fn apply(window: &tauri::WebviewWindow) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let dri = Path::new("/dev/dri");
    let overridden = std::env::var(OVERRIDE).ok();
    let choice = choose(overridden.as_deref(), dri).unwrap_or_else(|error| {
        eprintln!("pipewright-desktop: {error}; deciding as if it were not set");
        detect(dri)
    });
    if choice.accelerate {
        return;
    }
    eprintln!(
        "pipewright-desktop: drawing the window without GPU compositing: {}",
        choice.reason
    );
    set_policy(window);
}

#[cfg(target_os = "linux")]
fn set_policy(window: &tauri::WebviewWindow) {
    use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
    let result = window.with_webview(|webview| {
        if let Some(settings) = webview.inner().settings() {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    });
    if let Err(error) = result {
        eprintln!("pipewright-desktop: cannot change how the window is drawn: {error}");
    }
}

#[cfg(not(target_os = "linux"))]
fn set_policy(_window: &tauri::WebviewWindow) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machine_with_a_render_node_composites() {
        let dri = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dri.path().join("card0"), "").expect("a fake device");
        assert!(!choose(None, dri.path()).expect("a valid choice").accelerate);
        std::fs::write(dri.path().join("renderD128"), "").expect("a fake device");
        assert!(choose(None, dri.path()).expect("a valid choice").accelerate);
    }

    #[test]
    fn no_dri_directory_means_no_gpu_and_says_how_to_override() {
        let choice = choose(None, Path::new("/nonexistent/dri")).expect("a valid choice");
        assert!(!choice.accelerate);
        assert!(
            choice
                .reason
                .contains("PIPEWRIGHT_HARDWARE_ACCELERATION=always")
        );
    }

    #[test]
    fn the_override_wins_and_a_wrong_value_is_named() {
        let dri = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dri.path().join("renderD128"), "").expect("a fake device");
        assert!(
            !choose(Some("never"), dri.path())
                .expect("a valid choice")
                .accelerate
        );
        assert!(
            choose(Some("always"), Path::new("/nonexistent"))
                .expect("a valid choice")
                .accelerate
        );
        let error = choose(Some("sometimes"), dri.path()).expect_err("not a choice");
        assert!(error.contains("\"sometimes\""), "{error}");
    }
}
