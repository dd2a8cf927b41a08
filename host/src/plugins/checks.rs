//! What the host notices about a plugin when it loads, short of refusing
//! it: a role implemented but not declared (so never called), a kind the
//! host does not know (a typo receives nothing), a name or version that
//! differs from `plugin.toml` (which wins), a settings schema whose template
//! default uses a variable it does not list. Shown as `warnings` in
//! `GET /api/plugins` and logged once per load.

use super::convert::role_name;
use super::manifest::Manifest;
use super::runtime::wit;
use crate::event::EventKind;

/// The warnings for a plugin that described itself as `info`.
pub fn load_warnings(info: &wit::Info, manifest: &Manifest) -> Vec<String> {
    let mut out = Vec::new();
    for role in &info.implements {
        if !info.roles.contains(role) {
            out.push(format!(
                "it implements the {} role but does not declare it, so the host never calls it: add it to the roles it describes (or remove the code)",
                role_name(*role)
            ));
        }
    }
    for kind in &info.kinds {
        if kind == "*" || EventKind::from(kind.as_str()).is_known() {
            continue;
        }
        let hint = closest_known(kind)
            .map(|k| format!(" (did you mean {k:?}?)"))
            .unwrap_or_default();
        out.push(format!(
            "it asks for the kind {kind:?}, which Stagehand does not know{hint}: it receives such events only if something sends them"
        ));
    }
    if let Some(schema) = &manifest.schema {
        out.extend(schema.warnings());
    }
    // A manifest without a version ("0") came without plugin.toml values
    // to compare against.
    if manifest.version != "0" {
        if !info.name.is_empty() && info.name != manifest.name {
            out.push(format!(
                "it calls itself {:?} but plugin.toml says {:?}; plugin.toml is the one that counts",
                info.name, manifest.name
            ));
        }
        if !info.version.is_empty() && info.version != manifest.version {
            out.push(format!(
                "it says it is version {:?} but plugin.toml says {:?}; plugin.toml is the one that counts",
                info.version, manifest.version
            ));
        }
    }
    out
}

/// The known kind nearest to `kind` by edit distance, when it is close.
fn closest_known(kind: &str) -> Option<&'static str> {
    EventKind::NAMES
        .iter()
        .map(|name| (strsim::levenshtein(kind, name), *name))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        super::super::manifest::parse("name = \"shout\"\nversion = \"1.2.0\"").unwrap()
    }

    fn info(kinds: &[&str], roles: Vec<wit::Role>, implements: Vec<wit::Role>) -> wit::Info {
        wit::Info {
            name: "shout".into(),
            version: "1.2.0".into(),
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
            roles,
            implements,
        }
    }

    #[test]
    fn a_well_described_plugin_has_no_warnings() {
        let i = info(
            &["channel.follow", "*"],
            vec![wit::Role::Actions],
            vec![wit::Role::Actions],
        );
        assert!(load_warnings(&i, &manifest()).is_empty());
    }

    #[test]
    fn an_implemented_role_that_is_not_declared_is_named() {
        let i = info(
            &["*"],
            vec![wit::Role::Actions],
            vec![wit::Role::Formatter, wit::Role::Actions],
        );
        let w = load_warnings(&i, &manifest());
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("implements the formatter role but does not declare it"),
            "{w:?}"
        );
    }

    #[test]
    fn an_unknown_kind_is_named_with_the_nearest_known_one() {
        let i = info(&["channel.folow"], vec![], vec![]);
        let w = load_warnings(&i, &manifest());
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("\"channel.folow\""), "{w:?}");
        assert!(w[0].contains("did you mean \"channel.follow\""), "{w:?}");
        let far = info(&["my.own.kind"], vec![], vec![]);
        assert!(!load_warnings(&far, &manifest())[0].contains("did you mean"));
    }

    #[test]
    fn a_template_default_with_an_unlisted_variable_is_named() {
        let m = super::super::manifest::parse(
            "name = \"shout\"\nversion = \"1.2.0\"\n[[setting]]\nkey = \"m\"\ntype = \"template\"\nlabel = \"M\"\nvariables = [\"username\"]\ndefault = \"{usrname}!\"",
        )
        .unwrap();
        let w = load_warnings(&info(&["*"], vec![], vec![]), &m);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("setting \"m\"") && w[0].contains("{usrname}"),
            "{w:?}"
        );
    }

    #[test]
    fn a_name_or_version_unlike_the_manifest_is_named() {
        let mut i = info(&["*"], vec![], vec![]);
        i.name = "shout-out".into();
        i.version = "0.9.0".into();
        let w = load_warnings(&i, &manifest());
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("\"shout-out\"") && w[0].contains("\"shout\""));
        assert!(w[1].contains("\"0.9.0\"") && w[1].contains("\"1.2.0\""));
    }
}
