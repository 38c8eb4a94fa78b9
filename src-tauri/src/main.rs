// No console window next to the app on Windows release builds; Linux ignores this.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    pipewright_desktop::run();
}
