//! What a request may ask, checked before it runs: its size (fields, aliases, root fields),
//! depth and complexity against [`Limits`], and its text (no control characters in any
//! string argument or variable). Each refusal is `BAD_USER_INPUT` and names the limit and its
//! value, or the field and the character.

use super::Limits;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{
    ErrorExtensionValues, Name, Positioned, ServerError, ServerResult, ValidationResult, Value,
    Variables,
};
use std::collections::HashMap;
use std::sync::Arc;

/// Installs the checks with these limits.
pub struct Guard(pub Limits);

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension(self.0))
    }
}

struct GuardExtension(Limits);

#[async_graphql::async_trait::async_trait]
impl Extension for GuardExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        for (name, value) in variables.iter() {
            check_text(name.as_str(), value)?;
        }
        check_arguments(&document)?;
        check_size(&document, &self.0)?;
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if result.depth > self.0.max_depth {
            return Err(vec![over_limit(
                "depth",
                format!(
                    "the query is nested {} levels deep; at most {} are allowed",
                    result.depth, self.0.max_depth
                ),
                self.0.max_depth,
            )]);
        }
        if result.complexity > self.0.max_complexity {
            return Err(vec![over_limit(
                "complexity",
                format!(
                    "the query's complexity is {}; at most {} is allowed (a list counts `first` \
                     items, or {} without it, each costing its selection)",
                    result.complexity,
                    self.0.max_complexity,
                    super::connection::UNPAGED_LIST_COST
                ),
                self.0.max_complexity,
            )]);
        }
        Ok(result)
    }
}

/// A refusal naming the limit (`extensions.limit`) and its value (`extensions.max`).
fn over_limit(limit: &str, message: String, max: usize) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", "BAD_USER_INPUT");
    extensions.set("limit", limit);
    extensions.set("max", max as u64);
    error.extensions = Some(extensions);
    error
}

/// What one operation selects, fragments expanded.
#[derive(Debug, Default, PartialEq, Eq)]
struct Size {
    fields: usize,
    aliases: usize,
    root_fields: usize,
}

fn check_size(document: &ExecutableDocument, limits: &Limits) -> ServerResult<()> {
    for (_, operation) in document.operations.iter() {
        let mut walk = Walk {
            fragments: &document.fragments,
            stack: Vec::new(),
            size: Size::default(),
            // Past the largest limit the count is refused anyway; stop there, so fragments
            // spread into each other cannot make the walk itself expensive.
            stop_at: limits.max_fields.max(limits.max_aliases) + 1,
        };
        walk.root(&operation.node.selection_set.node);
        walk.selections(&operation.node.selection_set.node);
        let size = walk.size;
        for (limit, count, max, what) in [
            (
                "rootFields",
                size.root_fields,
                limits.max_root_fields,
                "root fields",
            ),
            ("aliases", size.aliases, limits.max_aliases, "aliases"),
            (
                "fields",
                size.fields,
                limits.max_fields,
                "fields (fragments expanded)",
            ),
        ] {
            if count > max {
                let count = if count >= walk.stop_at {
                    format!("more than {max}")
                } else {
                    count.to_string()
                };
                return Err(over_limit(
                    limit,
                    format!("the query selects {count} {what}; at most {max} are allowed"),
                    max,
                ));
            }
        }
    }
    Ok(())
}

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// Fragments being expanded, against cycles (which validation refuses later).
    stack: Vec<&'a str>,
    size: Size,
    stop_at: usize,
}

impl<'a> Walk<'a> {
    fn fragment(&self, name: &str) -> Option<&'a SelectionSet> {
        self.fragments.get(name).map(|f| &f.node.selection_set.node)
    }

    /// Counts the fields at the root of an operation.
    fn root(&mut self, set: &'a SelectionSet) {
        for selection in &set.items {
            if self.size.root_fields >= self.stop_at {
                return;
            }
            match &selection.node {
                Selection::Field(_) => self.size.root_fields += 1,
                Selection::InlineFragment(inline) => self.root(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(set) = self.fragment(name).filter(|_| !self.stack.contains(&name)) {
                        self.stack.push(name);
                        self.root(set);
                        self.stack.pop();
                    }
                }
            }
        }
    }

    /// Counts every field and alias below `set`.
    fn selections(&mut self, set: &'a SelectionSet) {
        for selection in &set.items {
            if self.size.fields >= self.stop_at || self.size.aliases >= self.stop_at {
                return;
            }
            match &selection.node {
                Selection::Field(field) => {
                    self.size.fields += 1;
                    if field.node.alias.is_some() {
                        self.size.aliases += 1;
                    }
                    self.selections(&field.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => {
                    self.selections(&inline.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(set) = self.fragment(name).filter(|_| !self.stack.contains(&name)) {
                        self.stack.push(name);
                        self.selections(set);
                        self.stack.pop();
                    }
                }
            }
        }
    }
}

/// Checks every string written into the document as an argument.
fn check_arguments(document: &ExecutableDocument) -> ServerResult<()> {
    fn walk(set: &SelectionSet) -> ServerResult<()> {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    for (name, value) in &field.node.arguments {
                        // Variables are checked on their own; here they stand as null.
                        let written = value
                            .node
                            .clone()
                            .into_const_with(|_| Ok::<_, std::convert::Infallible>(Value::Null));
                        let Ok(written) = written;
                        check_text(name.node.as_str(), &written)?;
                    }
                    walk(&field.node.selection_set.node)?;
                }
                Selection::InlineFragment(inline) => walk(&inline.node.selection_set.node)?,
                Selection::FragmentSpread(_) => {}
            }
        }
        Ok(())
    }
    for (_, operation) in document.operations.iter() {
        walk(&operation.node.selection_set.node)?;
    }
    for fragment in document.fragments.values() {
        walk(&fragment.node.selection_set.node)?;
    }
    Ok(())
}

/// Refuses a control character (other than tab and line breaks) anywhere in `value`, naming
/// where it is (`input.title`, `filter.text`, `input.sectors[2].code`).
fn check_text(path: &str, value: &Value) -> ServerResult<()> {
    match value {
        Value::String(text) => match text
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            None => Ok(()),
            Some(c) => {
                let message = format!(
                    "contains the control character U+{:04X}; text may hold tabs and line \
                     breaks but no other control characters",
                    u32::from(c)
                );
                let mut error = ServerError::new(format!("invalid input: {path} {message}"), None);
                let mut extensions = ErrorExtensionValues::default();
                extensions.set("code", "BAD_USER_INPUT");
                let mut violation = async_graphql::indexmap::IndexMap::new();
                violation.insert(Name::new("field"), Value::from(path));
                violation.insert(Name::new("message"), Value::from(message));
                extensions.set("violations", Value::List(vec![Value::Object(violation)]));
                error.extensions = Some(extensions);
                Err(error)
            }
        },
        Value::List(items) => {
            for (i, item) in items.iter().enumerate() {
                check_text(&format!("{path}[{i}]"), item)?;
            }
            Ok(())
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                check_text(&format!("{path}.{name}"), item)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size_of(query: &str) -> Size {
        let document = async_graphql::parser::parse_query(query).unwrap_or_else(|e| panic!("{e}"));
        let (_, operation) = document
            .operations
            .iter()
            .next()
            .unwrap_or_else(|| panic!("no operation"));
        let mut walk = Walk {
            fragments: &document.fragments,
            stack: Vec::new(),
            size: Size::default(),
            stop_at: 1_000,
        };
        walk.root(&operation.node.selection_set.node);
        walk.selections(&operation.node.selection_set.node);
        walk.size
    }

    #[test]
    fn fragments_are_counted_where_they_are_spread() {
        let size = size_of(
            "{ a: activities { ...f } b: activities { ...f } } fragment f on ActivityConnection { totalCount x: totalCount }",
        );
        assert_eq!(
            size,
            Size {
                fields: 6,
                aliases: 4,
                root_fields: 2
            }
        );
    }

    #[test]
    fn fragment_cycles_end_the_walk() {
        let size = size_of("{ ...a } fragment a on Query { x: __typename ...a }");
        assert_eq!(size.fields, 1);
    }

    #[test]
    fn control_characters_are_named_with_their_field() {
        let input =
            Value::from_json(serde_json::json!({ "title": "a\u{0}b", "note": "tab\tand\nbreak" }))
                .unwrap_or_else(|e| panic!("{e}"));
        let error = check_text("input", &input)
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(error.message.contains("input.title"), "{}", error.message);
        assert!(error.message.contains("U+0000"), "{}", error.message);
        let fine = Value::from("tab\tand\nbreak\r");
        assert!(check_text("text", &fine).is_ok());
    }
}
