//! The little of RFC 3986 that `$ref` and `$id` need: resolving a reference against a base URI.
//! Written here rather than pulled in because bases such as `json-schema:///` or bare file
//! names are not URLs the `url` crate accepts.

/// The base of a root schema without `$id` (the `jsonschema` crate uses the same one, so
/// dependency URIs line up for payload validation).
pub(crate) const DEFAULT_BASE: &str = "json-schema:///";

/// Split `reference` into the part before `#` and the fragment after it (if any).
pub(crate) fn split_fragment(reference: &str) -> (&str, Option<&str>) {
    match reference.split_once('#') {
        Some((uri, fragment)) => (uri, Some(fragment)),
        None => (reference, None),
    }
}

/// Resolve `reference` (without fragment) against `base` (without fragment).
pub(crate) fn resolve(base: &str, reference: &str) -> String {
    if reference.is_empty() {
        return base.to_string();
    }
    if has_scheme(reference) {
        return reference.to_string();
    }
    let (scheme, rest) = match base.split_once(':') {
        Some((scheme, rest)) if has_scheme(base) => (scheme, rest),
        _ => ("", base),
    };
    let prefix = if scheme.is_empty() {
        String::new()
    } else {
        format!("{scheme}:")
    };
    if let Some(network) = reference.strip_prefix("//") {
        return format!("{prefix}//{network}");
    }
    // Split the base into authority and path.
    let (authority, path) = match rest.strip_prefix("//") {
        Some(after) => match after.find('/') {
            Some(i) => (format!("//{}", &after[..i]), after[i..].to_string()),
            None => (format!("//{after}"), String::new()),
        },
        None => (String::new(), rest.to_string()),
    };
    let merged = if reference.starts_with('/') {
        reference.to_string()
    } else if let Some(query) = reference.strip_prefix('?') {
        let without_query = path.split('?').next().unwrap_or("");
        format!("{without_query}?{query}")
    } else {
        let dir = match path.rfind('/') {
            Some(i) => &path[..=i],
            None if !authority.is_empty() => "/",
            None => "",
        };
        format!("{dir}{reference}")
    };
    format!("{prefix}{authority}{}", remove_dots(&merged))
}

fn has_scheme(s: &str) -> bool {
    match s.find(':') {
        Some(i) if i > 0 => {
            let scheme = &s[..i];
            scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        _ => false,
    }
}

fn remove_dots(path: &str) -> String {
    if !path.contains("./") && !path.ends_with("/.") && !path.ends_with("/..") {
        return path.to_string();
    }
    let absolute = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > usize::from(absolute) {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if absolute && !joined.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Decode `%XX` escapes in a URI fragment (JSON pointers in `$ref` are URI-encoded).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_handles_relative_absolute_and_default_bases() {
        assert_eq!(
            resolve(DEFAULT_BASE, "customer.json"),
            "json-schema:///customer.json"
        );
        assert_eq!(
            resolve("https://example.com/schemas/order.json", "customer.json"),
            "https://example.com/schemas/customer.json"
        );
        assert_eq!(
            resolve("https://example.com/schemas/order.json", "../common/a.json"),
            "https://example.com/common/a.json"
        );
        assert_eq!(
            resolve("https://example.com/schemas/order.json", "/b.json"),
            "https://example.com/b.json"
        );
        assert_eq!(resolve("https://example.com/a.json", "urn:x:y"), "urn:x:y");
        assert_eq!(
            resolve("https://example.com/a.json", ""),
            "https://example.com/a.json"
        );
    }

    #[test]
    fn percent_decode_decodes_escapes_only() {
        assert_eq!(percent_decode("/definitions/a%20b"), "/definitions/a b");
        assert_eq!(percent_decode("/a%2"), "/a%2");
    }
}
