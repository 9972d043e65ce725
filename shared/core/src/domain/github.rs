//! GitHub names that a release policy pins: repositories, workflow files, refs and the
//! `owner/repo/path@ref` workflow references found in Fulcio certificates.
//!
//! Every value that reaches these parsers may come from an attacker (a certificate claim, a
//! provenance predicate, a config file), so each one is checked character by character and
//! anything ambiguous is refused rather than normalised.

use std::fmt;

const GITHUB_URL: &str = "https://github.com/";

/// Why a string is not the GitHub name it was read as. The offending text is kept as given;
/// whoever shows it escapes it (`printable`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GithubNameError {
    #[error("repository {0:?} must be written owner/repo")]
    RepositoryShape(String),
    #[error("repository owner {0:?} is not a GitHub account name")]
    Owner(String),
    #[error("repository name {0:?} is not a GitHub repository name")]
    Repository(String),
    #[error("{0:?} is not a https://github.com/ repository URL")]
    RepositoryUrl(String),
    #[error("workflow path {0:?} must start with .github/workflows/")]
    WorkflowFolder(String),
    #[error("workflow path {0:?} must end in .yml or .yaml")]
    WorkflowExtension(String),
    #[error("workflow path {0:?} must name one file directly in .github/workflows/")]
    WorkflowFile(String),
    #[error("workflow reference {0:?} has no @ref")]
    WorkflowRefWithoutRef(String),
    #[error("workflow reference {0:?} must be owner/repo/path@ref")]
    WorkflowRefShape(String),
    #[error("workflow reference {0:?} has an invalid ref")]
    WorkflowRefRef(String),
    #[error("ref pattern {0:?} must be a full ref name such as refs/tags/v*")]
    RefPattern(String),
}

/// A GitHub repository `owner/repo`. GitHub treats names case-insensitively, so two
/// repository names are the same repository when they are equal ignoring ASCII case; no other
/// normalisation is done (no Unicode, no trailing `.git`, no URL forms).
#[derive(Debug, Clone, Eq)]
pub struct RepositoryName {
    owner: String,
    repo: String,
}

impl RepositoryName {
    /// Parses `owner/repo`.
    pub fn parse(input: &str) -> Result<Self, GithubNameError> {
        let (owner, repo) = input
            .split_once('/')
            .ok_or_else(|| GithubNameError::RepositoryShape(input.to_owned()))?;
        // GitHub: owners are 1-39 letters, digits or single hyphens, not at either end.
        let owner_ok = (1..=39).contains(&owner.len())
            && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !owner.starts_with('-')
            && !owner.ends_with('-')
            && !owner.contains("--");
        if !owner_ok {
            return Err(GithubNameError::Owner(owner.to_owned()));
        }
        // Repositories are 1-100 letters, digits, '-', '_' or '.', and never '.' or '..'.
        let repo_ok = (1..=100).contains(&repo.len())
            && repo
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && repo != "."
            && repo != "..";
        if !repo_ok {
            return Err(GithubNameError::Repository(repo.to_owned()));
        }
        Ok(Self {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
        })
    }

    /// Parses `https://github.com/owner/repo` (the form Fulcio certificates and SLSA v1
    /// predicates use), also accepting the `git+` prefix of SLSA v0.2 materials.
    pub fn from_url(url: &str) -> Result<Self, GithubNameError> {
        let rest = url
            .strip_prefix("git+")
            .unwrap_or(url)
            .strip_prefix(GITHUB_URL)
            .ok_or_else(|| GithubNameError::RepositoryUrl(url.to_owned()))?;
        Self::parse(rest)
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn repo(&self) -> &str {
        &self.repo
    }
}

impl PartialEq for RepositoryName {
    fn eq(&self, other: &Self) -> bool {
        self.owner.eq_ignore_ascii_case(&other.owner) && self.repo.eq_ignore_ascii_case(&other.repo)
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.repo)
    }
}

/// A workflow file path inside a repository, always `.github/workflows/<file>.yml` or
/// `.yaml`: GitHub only runs workflows from that folder, never from a subfolder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WorkflowPath(String);

impl WorkflowPath {
    pub fn parse(input: &str) -> Result<Self, GithubNameError> {
        let file = input
            .strip_prefix(".github/workflows/")
            .ok_or_else(|| GithubNameError::WorkflowFolder(input.to_owned()))?;
        let stem = file
            .strip_suffix(".yml")
            .or_else(|| file.strip_suffix(".yaml"))
            .ok_or_else(|| GithubNameError::WorkflowExtension(input.to_owned()))?;
        let file_ok = !stem.is_empty()
            && file
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | '\\' | '@' | '%' | '?' | '#'))
            && !file.contains("..");
        if !file_ok {
            return Err(GithubNameError::WorkflowFile(input.to_owned()));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkflowPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A reference to one workflow file at one git ref: `owner/repo/.github/workflows/x.yml@ref`.
/// This is the shape of Fulcio's Build Config URI and Build Signer URI (after the
/// `https://github.com/` prefix) and of `GITHUB_WORKFLOW_REF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRef {
    pub repository: RepositoryName,
    pub path: WorkflowPath,
    pub git_ref: String,
}

impl WorkflowRef {
    /// Parses `owner/repo/.github/workflows/x.yml@ref`, with or without the
    /// `https://github.com/` prefix. The path ends at the first `@` (a valid workflow path has
    /// none); everything after it is the ref, which must be a full `refs/...` name or a
    /// 40-hex commit.
    pub fn parse(input: &str) -> Result<Self, GithubNameError> {
        let rest = input.strip_prefix(GITHUB_URL).unwrap_or(input);
        let (location, git_ref) = rest
            .split_once('@')
            .ok_or_else(|| GithubNameError::WorkflowRefWithoutRef(input.to_owned()))?;
        let mut parts = location.splitn(3, '/');
        let (Some(owner), Some(repo), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(GithubNameError::WorkflowRefShape(input.to_owned()));
        };
        let repository = RepositoryName::parse(&format!("{owner}/{repo}"))?;
        let path = WorkflowPath::parse(path)?;
        if !is_valid_ref(git_ref) {
            return Err(GithubNameError::WorkflowRefRef(input.to_owned()));
        }
        Ok(Self {
            repository,
            path,
            git_ref: git_ref.to_owned(),
        })
    }
}

impl fmt::Display for WorkflowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}@{}", self.repository, self.path, self.git_ref)
    }
}

/// A git ref as GitHub reports it: `refs/...` with no control characters, spaces or `..`,
/// or a full commit SHA.
fn is_valid_ref(git_ref: &str) -> bool {
    let is_sha = git_ref.len() == 40 && git_ref.chars().all(|c| c.is_ascii_hexdigit());
    let is_refname = git_ref.starts_with("refs/")
        && git_ref.len() > "refs/".len()
        && git_ref.chars().all(|c| c.is_ascii_graphic())
        && !git_ref.contains("..")
        && !git_ref.contains("@{")
        && !git_ref.ends_with('/');
    is_sha || is_refname
}

/// A glob over full ref names, e.g. `refs/tags/v*`. `*` matches within one path segment,
/// `**` across segments, `?` one character (the semantics of GitHub's branch filters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefPattern(String);

impl RefPattern {
    pub fn parse(input: &str) -> Result<Self, GithubNameError> {
        if !input.starts_with("refs/") || !input.chars().all(|c| c.is_ascii_graphic()) {
            return Err(GithubNameError::RefPattern(input.to_owned()));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn matches(&self, git_ref: &str) -> bool {
        is_valid_ref(git_ref) && glob_match::glob_match(&self.0, git_ref)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RefPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_compare_ignoring_ascii_case_only() {
        let a = RepositoryName::parse("Sigstore/Sigstore-JS").unwrap();
        let b = RepositoryName::parse("sigstore/sigstore-js").unwrap();
        assert_eq!(a, b);
        assert_ne!(
            b,
            RepositoryName::parse("sigstore/sigstore-js-fork").unwrap()
        );
        assert_ne!(b, RepositoryName::parse("sigst0re/sigstore-js").unwrap());
    }

    #[test]
    fn repository_names_reject_hostile_forms() {
        for bad in [
            "sigstore",
            "sigstore/",
            "/repo",
            "sigstore/sigstore-js/extra",
            "-owner/repo",
            "owner-/repo",
            "ow--ner/repo",
            "owner/..",
            "owner/.",
            "sіgstore/sigstore-js",
            "owner/re po",
            "owner/repo\n",
            &format!("{}/r", "a".repeat(40)),
        ] {
            assert!(
                RepositoryName::parse(bad).is_err(),
                "{bad:?} must be rejected"
            );
        }
        assert!(RepositoryName::from_url("https://github.com.evil.example/o/r").is_err());
        assert!(RepositoryName::from_url("http://github.com/o/r").is_err());
        assert_eq!(
            RepositoryName::from_url("git+https://github.com/o/r")
                .unwrap()
                .to_string(),
            "o/r"
        );
    }

    #[test]
    fn workflow_paths_must_name_a_file_in_the_workflows_folder() {
        assert!(WorkflowPath::parse(".github/workflows/release.yml").is_ok());
        assert!(WorkflowPath::parse(".github/workflows/release.yaml").is_ok());
        for bad in [
            "release.yml",
            ".github/workflows/",
            ".github/workflows/.yml",
            ".github/workflows/sub/release.yml",
            ".github/workflows/../../evil.yml",
            ".github/workflows/..yml",
            "/.github/workflows/release.yml",
            ".github/workflows/release.yml@refs/heads/main",
            ".github/workflows/release.yml\u{0}",
            ".github/workflows/re lease.yml",
            ".github/workflows/release.json",
            ".github\\workflows\\release.yml",
            ".GitHub/workflows/release.yml",
        ] {
            assert!(
                WorkflowPath::parse(bad).is_err(),
                "{bad:?} must be rejected"
            );
        }
    }

    #[test]
    fn workflow_refs_split_at_the_first_at_sign() {
        let parsed = WorkflowRef::parse(
            "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1@evil",
        )
        .unwrap();
        assert_eq!(parsed.path.as_str(), ".github/workflows/release.yml");
        assert_eq!(parsed.git_ref, "refs/tags/v1@evil");
        // A path cannot smuggle an @ to make another file look like the workflow.
        assert!(
            WorkflowRef::parse(
                "o/r/.github/workflows/evil.yml@x/.github/workflows/release.yml@refs/heads/main"
            )
            .is_err()
        );
        assert!(WorkflowRef::parse("o/r/.github/workflows/release.yml").is_err());
        assert!(WorkflowRef::parse("o/r/.github/workflows/release.yml@main").is_err());
        assert!(WorkflowRef::parse("o/r/.github/workflows/release.yml@refs/heads/a..b").is_err());
        assert!(
            WorkflowRef::parse(&format!(
                "o/r/.github/workflows/release.yml@{}",
                "a".repeat(40)
            ))
            .is_ok()
        );
    }

    #[test]
    fn ref_patterns_glob_within_segments() {
        let tags = RefPattern::parse("refs/tags/v*").unwrap();
        assert!(tags.matches("refs/tags/v1.2.3"));
        assert!(!tags.matches("refs/tags/v1/evil"));
        assert!(!tags.matches("refs/heads/v1"));
        assert!(!tags.matches("refs/tags/V1"));
        assert!(!tags.matches("refs/tags/v1\n"));
        let any_tag = RefPattern::parse("refs/tags/**").unwrap();
        assert!(any_tag.matches("refs/tags/release/1.0"));
        assert!(RefPattern::parse("v*").is_err());
    }
}
