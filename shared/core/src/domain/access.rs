//! Who may change the watched set behind a gateway, decided once for the api function's
//! ways in: an IAM-signed request, a JWT the gateway verified, a dashboard session the router
//! verified. (Locally one API token both reads and writes.)

/// The people who may write: the members of one group at the sign-in provider. An IAM
/// principal may always: the account's IAM policy already decided that it may call the
/// write routes, and a read-only role is refused there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writers {
    group: String,
}

impl Writers {
    /// The group writers belong to unless the deployment names another.
    pub const DEFAULT_GROUP: &'static str = "admins";

    pub fn new(group: impl Into<String>) -> Self {
        Self {
            group: group.into(),
        }
    }

    /// The writers' group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Whether a person in `groups` may write.
    pub fn admit<'a>(&self, groups: impl IntoIterator<Item = &'a str>) -> bool {
        groups.into_iter().any(|g| g == self.group)
    }

    /// Whether an IAM principal may write: always (see the type's documentation).
    pub fn admit_iam(&self) -> bool {
        true
    }
}

impl Default for Writers {
    fn default() -> Self {
        Self::new(Self::DEFAULT_GROUP)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_members_of_the_group_write() {
        let writers = Writers::default();
        assert!(writers.admit(["readers", "admins"]));
        assert!(!writers.admit(["readers", "Admins", "admins2"]));
        assert!(!writers.admit([]));
        assert!(Writers::new("release-managers").admit(["release-managers"]));
        assert!(writers.admit_iam());
    }
}
