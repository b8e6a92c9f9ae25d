//! IATI 1.0x activities in 2.03 terms. The 2.01 release renamed and reshaped parts of the
//! standard; an activity read from a 1.0x file is upgraded before it is mapped and again
//! when it is exported, so that what the registry does not model (results, locations,
//! contacts, conditions…) is written back in a form the 2.03 schema accepts.
//!
//! What changes, following the standard's own upgrade notes:
//! - free text becomes `narrative` children, keeping its `xml:lang`; elements repeated only
//!   to give the same text in another language become one element with several narratives;
//! - word codes become numbers: activity-date types, organisation roles, transaction types,
//!   statuses, related-activity types, result types, sector and policy-marker vocabularies;
//! - renamed elements: `activity-website` → `document-link` (category A12), activity-level
//!   `flow-type`, `finance-type`, `aid-type`, `tied-status` → `default-…`,
//!   `location/coordinates` → `location/point/pos` (with `exactness` from the precision),
//!   `location/location-type` → `location/feature-designation`,
//!   `location/gazetteer-entry` → `location/location-id`, `crs-add/aidtype-flag` →
//!   `crs-add/other-flags`, `other-identifier` text and `owner-*` → `ref` and `owner-org`;
//! - what 2.03 has no place for is left out: the text of coded elements (the code's name),
//!   empty attributes,
//!   attributes the element no longer has (`location@percentage`, `planned-disbursement@updated`,
//!   the activity's `version`…), first- and second-level administrative codes without a
//!   vocabulary, and elements the standard dropped. Elements and attributes in a publisher's
//!   own namespace are kept as they are.
//!
//! Children come out in schema order. Upgrading a 2.0x activity changes nothing that the
//! schema allows, so applying the upgrade twice gives the same element.

use crate::map::{date_type, related_type, role_of, status_of, transaction_type};
use crate::reader::Element;
use crate::schema::{RULES, Rule};

/// Whether `version` is one of the 1.0x versions (1.01–1.05 and the 1.0 drafts).
pub fn is_legacy(version: &str) -> bool {
    version.trim().starts_with('1')
}

/// The version an activity was written in: its own `version` attribute (1.0x activities
/// may carry one), else its file's.
pub fn version_of<'a>(activity: &'a Element, file_version: &'a str) -> &'a str {
    activity.attr("version").unwrap_or(file_version)
}

/// `activity` in IATI 2.03 terms when it was written in a 1.0x version (`file_version`
/// unless it says its own); `None` when it needs no upgrade.
pub fn upgraded(activity: &Element, file_version: &str) -> Option<Element> {
    is_legacy(version_of(activity, file_version)).then(|| to_v203(activity))
}

/// `activity` in IATI 2.03 terms when it was written in a 1.0x version; as it is otherwise.
pub fn upgrade_if_legacy(activity: Element, file_version: &str) -> Element {
    upgraded(&activity, file_version).unwrap_or(activity)
}

/// An `iati-activity` element in IATI 2.03 terms.
pub fn to_v203(activity: &Element) -> Element {
    let mut out = activity.clone();
    let lang = activity.attr("xml:lang").unwrap_or("").to_ascii_lowercase();
    reshape(&mut out, "");
    conform(&mut out, "", &lang);
    out
}

fn rule(path: &str) -> Option<&'static Rule> {
    RULES
        .binary_search_by(|r| r.path.cmp(path))
        .ok()
        .map(|i| &RULES[i])
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}/{name}")
    }
}

fn set_attr(e: &mut Element, name: &str, value: impl Into<String>) {
    let value = value.into();
    match e.attrs.iter_mut().find(|(k, _)| k == name) {
        Some((_, v)) => *v = value,
        None => e.attrs.push((name.to_owned(), value)),
    }
}

fn take_attr(e: &mut Element, name: &str) -> Option<String> {
    let i = e.attrs.iter().position(|(k, _)| k == name)?;
    let (_, v) = e.attrs.remove(i);
    let v = v.trim().to_owned();
    (!v.is_empty()).then_some(v)
}

fn leaf(name: &str, attrs: &[(&str, &str)]) -> Element {
    Element {
        name: name.to_owned(),
        attrs: attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Element::default()
    }
}

fn narrative(text: &str) -> Element {
    Element {
        name: "narrative".to_owned(),
        text: text.to_owned(),
        ..Element::default()
    }
}

/// Rewrites a code attribute through `map` when it maps; leaves it otherwise.
fn recode(e: &mut Element, attr: &str, map: impl Fn(&str) -> Option<String>) {
    if let Some(code) = e.attr(attr).and_then(&map) {
        set_attr(e, attr, code);
    }
}

fn vocabulary(e: &mut Element, map: impl Fn(&str) -> Option<&'static str>) {
    match e.attr("vocabulary") {
        None => {
            // An empty vocabulary means the default one.
            take_attr(e, "vocabulary");
        }
        Some(v) => {
            if let Some(code) = map(&v.to_ascii_uppercase()) {
                set_attr(e, "vocabulary", code);
            }
        }
    }
}

/// The renames and recodings of 1.0x, element by element.
fn reshape(e: &mut Element, path: &str) {
    if let Some(v) = take_attr(e, "iso_date") {
        set_attr(e, "iso-date", v);
    }
    match path {
        "activity-date" => {
            recode(e, "type", |t| date_type(t).map(|c| c.to_string()));
            // 1.0x allowed the date as the element's text.
            if e.attr("iso-date").is_none()
                && let Some(day) = e.text().and_then(|t| t.get(..10)).map(str::to_owned)
                && chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").is_ok()
            {
                set_attr(e, "iso-date", day);
                e.text.clear();
            }
        }
        "activity-status" => {
            if e.attr("code").is_none()
                && let Some(status) = e.text().and_then(status_of)
            {
                set_attr(e, "code", status.iati_code().to_string());
            }
        }
        "participating-org" => recode(e, "role", |r| role_of(r).map(|r| r.iati_code().to_string())),
        "transaction/transaction-type" => {
            recode(e, "code", |c| transaction_type(c).map(str::to_owned));
        }
        "related-activity" => recode(e, "type", |t| {
            related_type(t).map(|t| t.iati_code().to_string())
        }),
        "result" => recode(e, "type", |t| {
            Some(
                match t.to_ascii_lowercase().as_str() {
                    "output" => "1",
                    "outcome" => "2",
                    "impact" => "3",
                    "other" => "9",
                    _ => return None,
                }
                .to_owned(),
            )
        }),
        "sector" | "transaction/sector" => vocabulary(e, |v| match v {
            "DAC" => Some("1"),
            "DAC-3" => Some("2"),
            "COFOG" => Some("3"),
            "NACE" => Some("4"),
            "NTEE" => Some("5"),
            "ADT" => Some("6"),
            "RO" => Some("99"),
            "RO2" => Some("98"),
            _ => None,
        }),
        "policy-marker" => vocabulary(e, |v| match v {
            "DAC" => Some("1"),
            "RO" => Some("99"),
            _ => None,
        }),
        "recipient-region" | "transaction/recipient-region" => vocabulary(e, |v| match v {
            "DAC" => Some("1"),
            "UN" => Some("2"),
            "RO" => Some("99"),
            _ => None,
        }),
        "other-identifier" => {
            // 1.0x: the identifier as text, its owner in `owner-ref` / `owner-name`.
            if e.attr("ref").is_none()
                && let Some(id) = e.text().map(str::to_owned)
            {
                set_attr(e, "ref", id);
                if e.attr("type").is_none() {
                    set_attr(e, "type", "A9");
                }
                e.text.clear();
                let (owner, name) = (take_attr(e, "owner-ref"), take_attr(e, "owner-name"));
                if owner.is_some() || name.is_some() {
                    let mut org = leaf("owner-org", &[]);
                    if let Some(r) = owner {
                        set_attr(&mut org, "ref", r);
                    }
                    if let Some(n) = name {
                        org.children.push(narrative(&n));
                    }
                    e.children.push(org);
                }
            }
        }
        "location" => {
            let mut children = Vec::with_capacity(e.children.len());
            for c in std::mem::take(&mut e.children) {
                children.extend(reshape_location_child(c));
            }
            e.children = children;
        }
        "crs-add" => {
            for c in e.children.iter_mut().filter(|c| c.name == "aidtype-flag") {
                c.name = "other-flags".to_owned();
            }
        }
        _ => {}
    }
    if path.is_empty() {
        // Activity-level defaults without their `default-` prefix, as early files wrote them.
        for c in e.children.iter_mut() {
            if let "flow-type" | "finance-type" | "aid-type" | "tied-status" = c.name.as_str() {
                c.name = format!("default-{}", c.name);
            }
        }
        for c in e
            .children
            .iter_mut()
            .filter(|c| c.name == "activity-website")
        {
            let url = c.text().unwrap_or_default().to_owned();
            *c = Element {
                name: "document-link".to_owned(),
                attrs: vec![
                    ("url".to_owned(), url.clone()),
                    ("format".to_owned(), "text/html".to_owned()),
                ],
                text: String::new(),
                children: vec![
                    Element {
                        children: vec![narrative(&url)],
                        ..leaf("title", &[])
                    },
                    leaf("category", &[("code", "A12")]),
                ],
            };
        }
    }
    for c in e.children.iter_mut().filter(|c| !c.is_foreign()) {
        let here = join(path, &c.name);
        reshape(c, &here);
    }
}

/// A 1.0x `location` child in 2.03 terms: none, one or several elements.
fn reshape_location_child(mut c: Element) -> Vec<Element> {
    match c.name.as_str() {
        "coordinates" => {
            let (Some(lat), Some(long)) = (c.attr("latitude"), c.attr("longitude")) else {
                return Vec::new();
            };
            let point = Element {
                children: vec![Element {
                    text: format!("{lat} {long}"),
                    ..leaf("pos", &[])
                }],
                ..leaf(
                    "point",
                    &[("srsName", "http://www.opengis.net/def/crs/EPSG/0/4326")],
                )
            };
            // GeographicalPrecision 1 is an exact location; every other is approximate.
            let exact = if c.attr("precision") == Some("1") {
                "1"
            } else {
                "2"
            };
            let mut out = vec![point];
            if c.attr("precision").is_some() {
                out.push(leaf("exactness", &[("code", exact)]));
            }
            out
        }
        "location-type" => {
            c.name = "feature-designation".to_owned();
            vec![c]
        }
        "gazetteer-entry" => {
            let vocabulary = match c.attr("gazetteer-ref") {
                Some("GEO") => "G1",
                Some("OSM") => "G2",
                _ => return Vec::new(),
            };
            match c.text() {
                Some(code) => vec![leaf(
                    "location-id",
                    &[("vocabulary", vocabulary), ("code", code)],
                )],
                None => Vec::new(),
            }
        }
        "administrative" if c.attr("vocabulary").is_none() => {
            // 1.0x named the country (ISO 3166-1 alpha-2, GeographicVocabulary A4) and
            // first- and second-level codes of no stated vocabulary; only the country has a
            // 2.03 form.
            match c.attr("country") {
                Some(country) => vec![leaf(
                    "administrative",
                    &[("vocabulary", "A4"), ("level", "0"), ("code", country)],
                )],
                None => Vec::new(),
            }
        }
        _ => vec![c],
    }
}

/// Fits an element (at `path`) to its 2.03 rule: text into narratives, attributes and
/// children the schema does not know left out, repeated translations merged, children in
/// schema order. `lang` is the activity's default language.
fn conform(e: &mut Element, path: &str, lang: &str) {
    let Some(this) = rule(path) else {
        return;
    };
    let takes_narratives = this.children.contains(&"narrative");
    if takes_narratives
        && let Some(text) = e.text().map(str::to_owned)
        && !e.children.iter().any(|c| c.name == "narrative")
    {
        let mut n = narrative(&text);
        if let Some(l) = e.attr("xml:lang").map(str::to_owned) {
            n.attrs.push(("xml:lang".to_owned(), l));
        }
        e.children.insert(0, n);
    }
    if !this.text {
        e.text.clear();
    }
    // An attribute in no namespace stays if 2.03 has it and it says something.
    e.attrs.retain(|(k, v)| {
        (this.attrs.contains(&k.as_str()) && !v.trim().is_empty())
            || (k.contains(':') && !k.starts_with("xml:"))
    });
    e.children.retain(|c| {
        c.is_foreign()
            || this.children.contains(&c.name.as_str()) && rule(&join(path, &c.name)).is_some()
    });
    for c in e.children.iter_mut().filter(|c| !c.is_foreign()) {
        let here = join(path, &c.name);
        conform(c, &here, lang);
    }
    merge_translations(&mut e.children, path, lang);
    let position = |c: &Element| {
        this.children
            .iter()
            .position(|n| *n == c.name)
            .unwrap_or(usize::MAX)
    };
    e.children.sort_by_key(position);
}

/// Merges siblings that say the same thing in different languages — the 1.0x way of
/// translating — into one element with every narrative: same name and attributes, nothing
/// but narratives inside, and no language said twice; or, where 2.03 allows the element only
/// once, whatever the languages (a narrative given twice is kept once).
fn merge_translations(children: &mut Vec<Element>, path: &str, lang: &str) {
    let only_narratives =
        |e: &Element| !e.children.is_empty() && e.children.iter().all(|c| c.name == "narrative");
    let lang_of = |n: &Element| {
        n.attr("xml:lang")
            .map(str::to_ascii_lowercase)
            .unwrap_or_else(|| lang.to_owned())
    };
    let mut out: Vec<Element> = Vec::with_capacity(children.len());
    for c in std::mem::take(children) {
        let Some(rule) = rule(&join(path, &c.name))
            .filter(|r| r.children == ["narrative"] && only_narratives(&c))
        else {
            out.push(c);
            continue;
        };
        let target = out.iter_mut().find(|o| {
            o.name == c.name
                && o.attrs == c.attrs
                && only_narratives(o)
                && (!rule.repeats
                    || o.children
                        .iter()
                        .all(|a| c.children.iter().all(|b| lang_of(a) != lang_of(b))))
        });
        match target {
            Some(o) => {
                for n in c.children {
                    let said = o
                        .children
                        .iter()
                        .any(|a| lang_of(a) == lang_of(&n) && a.text.trim() == n.text.trim());
                    if !said {
                        o.children.push(n);
                    }
                }
            }
            None => out.push(c),
        }
    }
    *children = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Element {
        let doc = format!("<iati-activities version=\"1.05\">{xml}</iati-activities>");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async {
            let mut reader = crate::IatiReader::new(doc.as_bytes());
            reader
                .next_activity()
                .await
                .ok()
                .flatten()
                .map(|r| r.element)
                .unwrap_or_else(|| panic!("no activity in {xml}"))
        })
    }

    #[test]
    fn the_schema_table_is_sorted_for_lookup() {
        assert!(RULES.windows(2).all(|w| w[0].path < w[1].path));
        assert!(rule("location/point/pos").is_some_and(|r| r.text));
        assert!(rule("location/coordinates").is_none());
    }

    #[test]
    fn legacy_text_codes_and_renamed_elements_take_their_2_03_form() {
        let old = parse(
            r#"<iati-activity xml:lang="en" version="1.05" default-currency="EUR">
              <iati-identifier>XI-1</iati-identifier>
              <title>Water</title><title xml:lang="fr">Eau</title>
              <activity-website>http://example.org/a</activity-website>
              <other-identifier owner-ref="XI-9" owner-name="Agency">ABC</other-identifier>
              <participating-org role="Implementing" ref="XI-2">Builder</participating-org>
              <activity-date type="start-actual" iso-date="2012-01-01">Opened</activity-date>
              <activity-status code="2">Implementation</activity-status>
              <location percentage="50"><name>Town</name>
                <coordinates latitude="1.5" longitude="2.5" precision="3"/>
                <location-type code="PPL"/>
                <administrative country="AF" adm1="KAN">Kandahar</administrative></location>
              <sector vocabulary="DAC" code="14030">Water supply</sector>
              <crs-add><aidtype-flag code="1" significance="1"/></crs-add>
              <xt:note xmlns:xt="http://example.org/x">kept</xt:note>
            </iati-activity>"#,
        );
        let new = to_v203(&old);
        let xml = new.to_xml();
        for part in [
            r#"<title><narrative>Water</narrative><narrative xml:lang="fr">Eau</narrative></title>"#,
            r#"<other-identifier ref="ABC" type="A9"><owner-org ref="XI-9"><narrative>Agency</narrative></owner-org></other-identifier>"#,
            r#"<participating-org role="4" ref="XI-2"><narrative>Builder</narrative></participating-org>"#,
            r#"<activity-date type="2" iso-date="2012-01-01"><narrative>Opened</narrative></activity-date>"#,
            r#"<activity-status code="2"/>"#,
            r#"<location><name><narrative>Town</narrative></name><administrative vocabulary="A4" level="0" code="AF"/><point srsName="http://www.opengis.net/def/crs/EPSG/0/4326"><pos>1.5 2.5</pos></point><exactness code="2"/><feature-designation code="PPL"/></location>"#,
            r#"<sector vocabulary="1" code="14030"><narrative>Water supply</narrative></sector>"#,
            r#"<crs-add><other-flags code="1" significance="1"/></crs-add>"#,
            r#"<document-link url="http://example.org/a" format="text/html"><title><narrative>http://example.org/a</narrative></title><category code="A12"/></document-link>"#,
            r#"<xt:note xmlns:xt="http://example.org/x">kept</xt:note>"#,
        ] {
            assert!(xml.contains(part), "{part}\nnot in\n{xml}");
        }
        assert!(!xml.contains("version="), "{xml}");
        let order: Vec<&str> = new.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            order,
            [
                "iati-identifier",
                "title",
                "participating-org",
                "other-identifier",
                "activity-status",
                "activity-date",
                "location",
                "sector",
                "document-link",
                "crs-add",
                "xt:note"
            ]
        );
        // Upgrading again changes nothing.
        assert_eq!(to_v203(&new), new);
    }

    #[test]
    fn translations_merge_but_two_texts_in_one_language_stay_two() {
        let old = parse(
            r#"<iati-activity xml:lang="en"><iati-identifier>XI-1</iati-identifier>
              <description type="1">General</description>
              <description type="2">Objectives</description>
              <description type="1" xml:lang="fr">Général</description>
              <description type="1" xml:lang="en">More</description>
            </iati-activity>"#,
        );
        let new = to_v203(&old);
        let descriptions: Vec<String> = new.children("description").map(Element::to_xml).collect();
        assert_eq!(
            descriptions,
            [
                r#"<description type="1"><narrative>General</narrative><narrative xml:lang="fr">Général</narrative></description>"#,
                r#"<description type="2"><narrative>Objectives</narrative></description>"#,
                r#"<description type="1"><narrative xml:lang="en">More</narrative></description>"#,
            ]
        );
    }

    #[test]
    fn a_2_0x_activity_is_left_as_it_is() {
        let current = parse(
            r#"<iati-activity><iati-identifier>XI-1</iati-identifier>
              <title><narrative>Water</narrative></title>
              <participating-org role="4" ref="XI-2"/></iati-activity>"#,
        );
        assert_eq!(upgrade_if_legacy(current.clone(), "2.03"), current);
        assert!(is_legacy("1.05") && is_legacy("1.0") && !is_legacy("2.01"));
    }
}
