//! What a valid artifact declaration is, decided once for every way one arrives: a
//! `POST /artifacts` body or a `PATCH` of one, a `serve` config file's `[[artifacts]]` entry,
//! a stack's `Custom::MonitoredArtifact`. Every field is bounded and checked on its own, so
//! the message names the field that is wrong, spelled as that caller spells it; then the
//! policy is checked as a whole ([`PolicySpec::to_policy`]).

use super::{
    Artifact, PolicySpec, RefPattern, RepositoryName, ReusableWorkflowPattern, WorkflowPath,
    artifact_key, printable,
};
use crate::registry::RegistryType;

/// How a caller spells its fields: the HTTP API and the config file in snake_case
/// (`allowed_refs[0]`), a CloudFormation resource's properties in PascalCase
/// (`AllowedRefs[0]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldNames {
    Snake,
    Pascal,
}

impl FieldNames {
    /// `field` (snake_case, with an optional `[index]`) as this caller spells it.
    pub fn spell(self, field: &str) -> String {
        match self {
            FieldNames::Snake => field.to_owned(),
            FieldNames::Pascal => {
                let (name, index) = field
                    .find('[')
                    .map_or((field, ""), |at| (&field[..at], &field[at..]));
                let mut out = String::with_capacity(field.len());
                for word in name.split('_') {
                    let mut chars = word.chars();
                    if let Some(first) = chars.next() {
                        out.extend(first.to_uppercase());
                        out.push_str(chars.as_str());
                    }
                }
                out.push_str(index);
                out
            }
        }
    }
}

/// A declaration refused: the field (as the caller spells it) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The longest text accepted in one field.
pub const MAX_FIELD_CHARS: usize = 512;
/// The most entries accepted in one list field.
pub const MAX_LIST: usize = 64;

/// Checks declarations, naming fields as one caller spells them.
#[derive(Debug, Clone, Copy)]
pub struct Declarations {
    pub names: FieldNames,
}

impl Declarations {
    /// The HTTP API's and the config file's spelling.
    pub const SNAKE: Self = Self {
        names: FieldNames::Snake,
    };
    /// A CloudFormation resource's spelling.
    pub const PASCAL: Self = Self {
        names: FieldNames::Pascal,
    };

    fn field(&self, name: &str, message: impl std::fmt::Display) -> FieldError {
        FieldError {
            field: self.names.spell(name),
            message: message.to_string(),
        }
    }

    fn bounded(&self, name: &str, value: &str) -> Result<(), FieldError> {
        if value.chars().count() > MAX_FIELD_CHARS {
            return Err(self.field(name, format!("longer than {MAX_FIELD_CHARS} characters")));
        }
        if value.chars().any(char::is_control) {
            return Err(self.field(name, "contains control characters"));
        }
        Ok(())
    }

    fn bounded_list(&self, name: &str, values: &[String]) -> Result<(), FieldError> {
        if values.len() > MAX_LIST {
            return Err(self.field(name, format!("more than {MAX_LIST} entries")));
        }
        for (index, value) in values.iter().enumerate() {
            self.bounded(&format!("{name}[{index}]"), value)?;
        }
        Ok(())
    }

    /// The registry type (`npm` when none is given), one of the registration table's.
    pub fn registry(&self, value: Option<&str>) -> Result<RegistryType, FieldError> {
        let Some(value) = value else {
            return Ok(RegistryType::Npm);
        };
        RegistryType::parse(value).ok_or_else(|| {
            let known: Vec<&str> = RegistryType::ALL.iter().map(|t| t.as_str()).collect();
            self.field(
                "type",
                format!(
                    "{:?} is not supported (only {})",
                    printable(value),
                    known.join(", ")
                ),
            )
        })
    }

    /// The artifact's name, checked with its registry type's rules; returns it as keys
    /// hold it.
    pub fn name(&self, registry: RegistryType, value: &str) -> Result<String, FieldError> {
        self.bounded("name", value)?;
        registry
            .check_name(value)
            .map_err(|e| self.field("name", e.to_string()))
    }

    /// The storage key of a registry type and a name, both checked.
    pub fn key(&self, registry: &str, name: &str) -> Result<String, FieldError> {
        let registry = self.registry(Some(registry))?;
        let name = self.name(registry, name)?;
        Ok(artifact_key(registry, &name))
    }

    /// A policy checked field by field (the message names the field), then as a whole.
    pub fn policy(&self, policy: PolicySpec) -> Result<PolicySpec, FieldError> {
        self.bounded("repository", &policy.repository)?;
        RepositoryName::parse(&policy.repository).map_err(|e| self.field("repository", e))?;
        if policy.workflows.is_empty() {
            return Err(self.field("workflows", "name at least one workflow file"));
        }
        self.bounded_list("workflows", &policy.workflows)?;
        for (index, workflow) in policy.workflows.iter().enumerate() {
            WorkflowPath::parse(workflow)
                .map_err(|e| self.field(&format!("workflows[{index}]"), e))?;
        }
        for (name, value) in [
            ("repository_id", &policy.repository_id),
            ("owner_id", &policy.owner_id),
            ("environment", &policy.environment),
        ] {
            if let Some(value) = value {
                self.bounded(name, value)?;
            }
        }
        for (name, value) in [
            ("repository_id", &policy.repository_id),
            ("owner_id", &policy.owner_id),
        ] {
            if let Some(value) = value
                && (value.is_empty() || !value.chars().all(|c| c.is_ascii_digit()))
            {
                return Err(self.field(name, "must be GitHub's numeric id"));
            }
        }
        if let Some(refs) = &policy.allowed_refs {
            self.bounded_list("allowed_refs", refs)?;
            for (index, pattern) in refs.iter().enumerate() {
                RefPattern::parse(pattern)
                    .map_err(|e| self.field(&format!("allowed_refs[{index}]"), e))?;
            }
        }
        if let Some(events) = &policy.allowed_events {
            self.bounded_list("allowed_events", events)?;
        }
        self.bounded_list(
            "allowed_reusable_workflows",
            &policy.allowed_reusable_workflows,
        )?;
        for (index, pattern) in policy.allowed_reusable_workflows.iter().enumerate() {
            ReusableWorkflowPattern::parse(pattern)
                .map_err(|e| self.field(&format!("allowed_reusable_workflows[{index}]"), e))?;
        }
        policy
            .to_policy()
            .map_err(|e| self.field("policy", e.to_string()))?;
        Ok(policy)
    }

    /// A whole declaration: registry type, name and policy, each checked.
    pub fn artifact(
        &self,
        registry: Option<&str>,
        name: &str,
        policy: PolicySpec,
    ) -> Result<Artifact, FieldError> {
        let registry = self.registry(registry)?;
        let name = self.name(registry, name)?;
        let policy = self.policy(policy)?;
        Ok(Artifact {
            registry,
            name,
            policy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PolicySpec {
        PolicySpec::new("acme/lib", &[".github/workflows/release.yml"])
    }

    #[test]
    fn fields_are_named_as_the_caller_spells_them() {
        assert_eq!(
            FieldNames::Pascal.spell("allowed_refs[2]"),
            "AllowedRefs[2]"
        );
        assert_eq!(FieldNames::Pascal.spell("owner_id"), "OwnerId");
        assert_eq!(FieldNames::Pascal.spell("type"), "Type");
        assert_eq!(
            FieldNames::Snake.spell("allowed_refs[2]"),
            "allowed_refs[2]"
        );

        let mut policy = spec();
        policy.owner_id = Some("abc".into());
        let snake = Declarations::SNAKE.policy(policy.clone()).unwrap_err();
        assert_eq!(snake.to_string(), "owner_id: must be GitHub's numeric id");
        let pascal = Declarations::PASCAL.policy(policy).unwrap_err();
        assert_eq!(pascal.to_string(), "OwnerId: must be GitHub's numeric id");
    }

    #[test]
    fn every_field_is_checked_on_its_own() {
        let d = Declarations::SNAKE;
        type Change = fn(&mut PolicySpec);
        let cases: Vec<(Change, &str)> = vec![
            (|p| p.repository = "acme".into(), "repository"),
            (|p| p.workflows.clear(), "workflows"),
            (|p| p.workflows = vec!["release.yml".into()], "workflows[0]"),
            (|p| p.repository_id = Some(String::new()), "repository_id"),
            (
                |p| p.allowed_refs = Some(vec!["main".into()]),
                "allowed_refs[0]",
            ),
            (
                |p| p.allowed_events = Some(vec!["x".repeat(600)]),
                "allowed_events[0]",
            ),
            (
                |p| p.environment = Some("prod\nuction".into()),
                "environment",
            ),
            (
                |p| p.allowed_reusable_workflows = vec!["nope".into()],
                "allowed_reusable_workflows[0]",
            ),
            (
                |p| p.workflows = vec![".github/workflows/a.yml".into(); MAX_LIST + 1],
                "workflows",
            ),
        ];
        for (change, field) in cases {
            let mut policy = spec();
            change(&mut policy);
            let error = d.policy(policy).unwrap_err();
            assert_eq!(error.field, field, "{error}");
        }
        assert!(d.policy(spec()).is_ok());
    }

    #[test]
    fn a_declaration_checks_type_name_and_policy() {
        let d = Declarations::SNAKE;
        let artifact = d.artifact(None, "@acme/lib", spec()).unwrap();
        assert_eq!(artifact.key(), "npm/@acme/lib");
        assert_eq!(
            d.artifact(Some("maven"), "lib", spec()).unwrap_err().field,
            "type"
        );
        assert_eq!(
            d.artifact(None, "Not A Name", spec()).unwrap_err().field,
            "name"
        );
        assert_eq!(d.key("npm", "@acme/lib").unwrap(), "npm/@acme/lib");
        // A PyPI project, declared in any spelling, is held under its normal form.
        let project = Declarations::PASCAL
            .artifact(Some("pypi"), "Sample_Project", spec())
            .unwrap();
        assert_eq!(project.key(), "pypi/sample-project");
        assert_eq!(
            d.key("pypi", "Sample.Project").unwrap(),
            "pypi/sample-project"
        );
        let forged = d.registry(Some("npm\u{1b}[2J")).unwrap_err();
        assert!(!forged.message.contains('\u{1b}'), "{forged}");
    }
}
