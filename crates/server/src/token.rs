//! `aidgraph token issue`: mints a token for an operator or a partner system.

use aidgraph_api::auth::{Authenticator, parse_role};
use aidgraph_domain::codes::COUNTRY;
use aidgraph_domain::vocab::Role;
use anyhow::{anyhow, bail};

/// Parses a lifetime such as `3600`, `90s`, `30m`, `12h` or `30d` into seconds.
pub fn parse_ttl(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: i64 = number
        .parse()
        .map_err(|_| anyhow!("--ttl `{text}`: expected a number with s, m, h or d"))?;
    let seconds = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => bail!("--ttl `{text}`: the unit must be s, m, h or d"),
    };
    if seconds <= 0 {
        bail!("--ttl must be positive");
    }
    Ok(seconds)
}

/// Mints a token after checking that the role's scope is given.
pub fn issue(
    auth: &Authenticator,
    role: &str,
    org: Option<&str>,
    country: Option<&str>,
    ttl: &str,
    subject: Option<&str>,
) -> anyhow::Result<String> {
    let role = parse_role(role).ok_or_else(|| {
        anyhow!("--role must be admin, coordinator, provider, recipient or viewer")
    })?;
    match role {
        Role::Provider if org.is_none() => bail!("a provider token needs --org REF"),
        Role::Recipient if country.is_none() => bail!("a recipient token needs --country CODE"),
        _ => {}
    }
    if let Some(c) = country
        && COUNTRY.get(&c.to_ascii_uppercase()).is_none()
    {
        bail!("--country `{c}` is not an ISO 3166-1 alpha-2 code");
    }
    let subject = subject
        .map(str::to_owned)
        .unwrap_or_else(|| match (role, org, country) {
            (Role::Provider, Some(o), _) => format!("provider:{o}"),
            (Role::Recipient, _, Some(c)) => format!("recipient:{}", c.to_ascii_uppercase()),
            _ => role.as_str().to_ascii_lowercase(),
        });
    auth.issue(&subject, role, org, country, parse_ttl(ttl)?)
        .map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lifetimes() {
        assert_eq!(parse_ttl("90").ok(), Some(90));
        assert_eq!(parse_ttl("12h").ok(), Some(43_200));
        assert_eq!(parse_ttl("30d").ok(), Some(2_592_000));
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("0s").is_err());
    }
}
