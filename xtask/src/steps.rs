//! The steps of the tutorial as they are on disk: every folder of `steps/`
//! that holds a `Cargo.toml`. Nothing is listed by hand, so a new step is
//! picked up as soon as its folder exists.

use std::fs;
use std::path::{Path, PathBuf};

/// One step crate, e.g. `steps/s04`.
#[derive(Clone)]
pub struct Step {
    /// The folder's name, which is also the package's name: `s04`.
    pub name: String,
    /// The `description` of its Cargo.toml: "Step 04 of the Rust chat tutorial: ...".
    pub description: String,
    pub dir: PathBuf,
}

impl Step {
    /// The description without its "Step 04 of the Rust chat tutorial: " prefix.
    pub fn title(&self) -> &str {
        match self.description.split_once(": ") {
            Some((prefix, title)) if prefix.starts_with("Step ") => title,
            _ => &self.description,
        }
    }
}

/// The workspace's root folder: this crate's parent, unless `XTASK_ROOT`
/// names another one (the tests point it at small fake workspaces).
pub fn workspace_root() -> PathBuf {
    if let Some(root) = std::env::var_os("XTASK_ROOT") {
        return PathBuf::from(root);
    }
    let xtask = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().unwrap_or(xtask).to_path_buf()
}

/// All the steps, in order. Their names sort as the tutorial goes
/// (s01 < s01b < s01c < s02), so the order is the names' order.
pub fn all(root: &Path) -> Result<Vec<Step>, String> {
    let folder = root.join("steps");
    let entries =
        fs::read_dir(&folder).map_err(|e| format!("cannot read {}: {e}", folder.display()))?;
    let mut steps = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let Ok(manifest) = fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        steps.push(Step {
            name: entry.file_name().to_string_lossy().into_owned(),
            description: description(&manifest).unwrap_or_default(),
            dir,
        });
    }
    steps.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(steps)
}

/// Finds the step a learner means: `04`, `s04` and `4` all name `s04`, and
/// `1b`, `01b` and `s01b` name `s01b`.
pub fn find<'a>(steps: &'a [Step], wanted: &str) -> Result<&'a Step, String> {
    normalize(wanted)
        .and_then(|name| steps.iter().find(|step| step.name == name))
        .ok_or_else(|| {
            format!(
                "there is no step {wanted:?}.\nThe steps are: {}\n(write a step as 04, s04 or 4)",
                names(steps)
            )
        })
}

/// The step just before `step`, if any.
pub fn previous<'a>(steps: &'a [Step], step: &Step) -> Option<&'a Step> {
    let index = steps.iter().position(|s| s.name == step.name)?;
    index.checked_sub(1).map(|i| &steps[i])
}

/// "s00, s01, s01b, ..."
pub fn names(steps: &[Step]) -> String {
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    names.join(", ")
}

/// `4` → `s04`, `S01B` → `s01b`; `None` when it cannot be a step name.
fn normalize(wanted: &str) -> Option<String> {
    let wanted = wanted.trim().to_lowercase();
    let rest = wanted.strip_prefix('s').unwrap_or(&wanted);
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, suffix) = rest.split_at(digits);
    let number: u32 = number.parse().ok()?;
    if !suffix.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    Some(format!("s{number:02}{suffix}"))
}

/// The `description = "..."` of a Cargo.toml's `[package]` section.
fn description(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "description"
        {
            let quoted = value.trim().strip_prefix('"')?.strip_suffix('"')?;
            return Some(quoted.replace("\\\"", "\""));
        }
    }
    None
}

/// Every file under `folder`, sorted; none if it does not exist.
pub fn files(folder: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(folder) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// A path with `/` on every system.
pub fn shown(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_can_be_named_in_several_ways() {
        for (typed, name) in [
            ("04", "s04"),
            ("s04", "s04"),
            ("4", "s04"),
            ("S04", "s04"),
            ("1b", "s01b"),
            ("01b", "s01b"),
            ("s01c", "s01c"),
            ("19", "s19"),
        ] {
            assert_eq!(normalize(typed).as_deref(), Some(name), "{typed}");
        }
        for typed in ["", "s", "stop", "0.4", "4-b", "-4"] {
            assert_eq!(normalize(typed), None, "{typed}");
        }
    }

    #[test]
    fn the_description_is_read_from_the_package_section() {
        let manifest = "[package]\nname = \"s04\"\ndescription = \"Step 04 of the Rust chat \
                        tutorial: a \\\"page\\\"\"\n\n[dependencies]\ndescription = \"no\"\n";
        let step = Step {
            name: "s04".into(),
            description: description(manifest).unwrap(),
            dir: PathBuf::new(),
        };
        assert_eq!(
            step.description,
            "Step 04 of the Rust chat tutorial: a \"page\""
        );
        assert_eq!(step.title(), "a \"page\"");
    }

    #[test]
    fn the_workspace_steps_are_found_in_order() {
        let steps = all(&workspace_root()).unwrap();
        let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
        assert!(names.starts_with(&["s00", "s01", "s01b", "s01c", "s02", "s02b"]));
        assert!(steps.iter().all(|s| s.description.starts_with("Step ")));
        let s04 = find(&steps, "4").unwrap();
        assert_eq!(previous(&steps, s04).unwrap().name, "s03");
        assert!(previous(&steps, &steps[0]).is_none());
        let error = find(&steps, "99").err().unwrap();
        assert!(error.contains("\"99\"") && error.contains("s00, s01, s01b"));
    }
}
