//! Streaming reader: walks an `iati-activities` document event by event and hands out one
//! `iati-activity` at a time as a small element tree, so memory stays bounded by the largest
//! activity whatever the file size. Elements in publishers' own namespaces are kept as
//! written (prefix and all), with the namespace declarations of the root.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use tokio::io::AsyncBufRead;

/// An XML element of one activity: name, attributes, text and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Element name without namespace prefix handling (IATI uses none).
    pub name: String,
    /// Attributes in document order, names as written (e.g. `xml:lang`).
    pub attrs: Vec<(String, String)>,
    /// Text directly inside the element, entities resolved.
    pub text: String,
    /// Child elements.
    pub children: Vec<Element>,
}

impl Element {
    /// An attribute's value, trimmed; `None` when absent or empty.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first child called `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child called `name`.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element's own text, trimmed; `None` when empty.
    pub fn text(&self) -> Option<&str> {
        let t = self.text.trim();
        (!t.is_empty()).then_some(t)
    }

    /// Whether the element is in a publisher's own namespace (`usg:office-name`).
    pub fn is_foreign(&self) -> bool {
        self.name.contains(':')
    }

    /// The element as XML on one line: attributes in document order, the text of elements
    /// without children as read, whitespace between children dropped. Reading the output
    /// back gives the same element.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write_xml(&mut out);
        out
    }

    fn write_xml(&self, out: &mut String) {
        use quick_xml::escape::escape;
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push(' ');
            out.push_str(k);
            out.push_str("=\"");
            out.push_str(&escape(v.as_str()));
            out.push('"');
        }
        let text = if self.children.is_empty() {
            self.text.as_str()
        } else {
            self.text.trim()
        };
        if text.is_empty() && self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        out.push_str(&escape(text));
        for c in &self.children {
            c.write_xml(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

/// Why reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The document is not well-formed XML.
    #[error("malformed XML at line {line}: {message}")]
    Malformed {
        /// Line where the problem was found.
        line: u64,
        /// What the parser said.
        message: String,
    },
    /// The root element is not `iati-activities` (or a lone `iati-activity`).
    #[error("not an IATI activities file: the root element is <{0}>")]
    NotIati(String),
}

/// One activity as read, with the line it starts on.
#[derive(Debug, Clone)]
pub struct RawActivity {
    /// Line of the `<iati-activity>` tag.
    pub line: u64,
    /// The element tree.
    pub element: Element,
}

/// Reads activities one at a time from an async byte stream.
pub struct IatiReader<R> {
    reader: Reader<R>,
    buf: Vec<u8>,
    line: u64,
    /// The `version` attribute of `iati-activities` (e.g. `2.03`, `1.05`).
    pub version: String,
    started: bool,
    finished: bool,
    /// Whether the document's root is `iati-activities`, whose end tag must come.
    rooted: bool,
    /// Elements open between activities (ignored, but their end tags are not the root's).
    open_outside: u32,
    /// Whether `</iati-activities>` was read.
    closed: bool,
    /// Namespace declarations of the root (`xmlns:usg`…), for activities kept whole.
    pub namespaces: Vec<(String, String)>,
}

fn count_lines(text: &str) -> u64 {
    text.bytes().filter(|b| *b == b'\n').count() as u64
}

fn element_of(start: &BytesStart<'_>) -> Result<Element, String> {
    let name = start.name().as_ref().to_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let key = attr.key.as_ref().to_owned();
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        ..Element::default()
    })
}

fn predefined(entity: &str) -> Option<&'static str> {
    match entity {
        "amp" => Some("&"),
        "lt" => Some("<"),
        "gt" => Some(">"),
        "quot" => Some("\""),
        "apos" => Some("'"),
        _ => None,
    }
}

impl<R: AsyncBufRead + Unpin> IatiReader<R> {
    /// Wraps a byte stream.
    pub fn new(source: R) -> Self {
        let mut reader = Reader::from_reader(source);
        reader.config_mut().trim_text(false);
        IatiReader {
            reader,
            buf: Vec::with_capacity(8 * 1024),
            line: 1,
            version: String::new(),
            started: false,
            finished: false,
            rooted: false,
            open_outside: 0,
            closed: false,
            namespaces: Vec::new(),
        }
    }

    fn malformed(&self, message: impl ToString) -> ReadError {
        ReadError::Malformed {
            line: self.line,
            message: message.to_string(),
        }
    }

    /// The next activity, or `None` at the end of the document.
    pub async fn next_activity(&mut self) -> Result<Option<RawActivity>, ReadError> {
        if self.finished {
            return Ok(None);
        }
        // The stack of open elements of the current activity (empty outside activities).
        let mut stack: Vec<Element> = Vec::new();
        let mut start_line = 0;
        loop {
            self.buf.clear();
            let event = match self.reader.read_event_into_async(&mut self.buf).await {
                Ok(e) => e.into_owned(),
                Err(e) => return Err(self.malformed(e)),
            };
            let raw_lines = match &event {
                Event::Start(e) | Event::Empty(e) => count_lines(e.as_ref()),
                Event::Text(e) => count_lines(e.as_ref()),
                Event::CData(e) => count_lines(e.as_ref()),
                Event::Comment(e) | Event::DocType(e) => count_lines(e.as_ref()),
                _ => 0,
            };
            match event {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    let empty = matches!(event, Event::Empty(_));
                    let element = element_of(e).map_err(|m| self.malformed(m))?;
                    if !self.started {
                        self.started = true;
                        match element.name.as_str() {
                            "iati-activities" => {
                                self.rooted = !empty;
                                self.version = element.attr("version").unwrap_or("").to_owned();
                                self.namespaces = element
                                    .attrs
                                    .iter()
                                    .filter(|(k, _)| k.starts_with("xmlns:"))
                                    .cloned()
                                    .collect();
                                self.line += raw_lines;
                                if empty {
                                    self.finished = true;
                                    return Ok(None);
                                }
                                continue;
                            }
                            "iati-activity" => {}
                            other => return Err(ReadError::NotIati(other.to_owned())),
                        }
                    }
                    if stack.is_empty() {
                        if element.name == "iati-activity" {
                            start_line = self.line;
                            if empty {
                                self.line += raw_lines;
                                return Ok(Some(RawActivity {
                                    line: start_line,
                                    element,
                                }));
                            }
                            stack.push(element);
                        } else if !empty {
                            self.open_outside += 1;
                        }
                        // Anything else between activities is ignored.
                    } else if empty {
                        if let Some(parent) = stack.last_mut() {
                            parent.children.push(element);
                        }
                    } else {
                        stack.push(element);
                    }
                }
                Event::End(_) => {
                    if stack.is_empty() {
                        if self.open_outside > 0 {
                            self.open_outside -= 1;
                        } else {
                            self.closed = true;
                        }
                    } else if let Some(done) = stack.pop() {
                        match stack.last_mut() {
                            Some(parent) => parent.children.push(done),
                            None => {
                                self.line += raw_lines;
                                return Ok(Some(RawActivity {
                                    line: start_line,
                                    element: done,
                                }));
                            }
                        }
                    }
                }
                Event::Text(ref t) => {
                    if let Some(open) = stack.last_mut() {
                        open.text.push_str(&t.xml_content(XmlVersion::Implicit1_0));
                    }
                }
                Event::CData(ref t) => {
                    if let Some(open) = stack.last_mut() {
                        open.text.push_str(&t.xml_content(XmlVersion::Implicit1_0));
                    }
                }
                Event::GeneralRef(ref r) => {
                    if let Some(open) = stack.last_mut() {
                        if let Ok(Some(c)) = r.resolve_char_ref() {
                            open.text.push(c);
                        } else {
                            let name = r.xml_content(XmlVersion::Implicit1_0);
                            match predefined(&name) {
                                Some(s) => open.text.push_str(s),
                                None => {
                                    return Err(self.malformed(format!("unknown entity &{name};")));
                                }
                            }
                        }
                    }
                }
                Event::Eof => {
                    self.finished = true;
                    if !stack.is_empty() {
                        return Err(self.malformed("the document ends inside an activity"));
                    }
                    if !self.started {
                        return Err(self.malformed(
                            "the document holds no XML element (an IATI file starts with <iati-activities>)",
                        ));
                    }
                    if self.rooted && !self.closed {
                        return Err(self.malformed(
                            "the document ends before </iati-activities>: it was cut short",
                        ));
                    }
                    return Ok(None);
                }
                _ => {}
            }
            self.line += raw_lines;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(xml: &str) -> Result<Vec<RawActivity>, ReadError> {
        let mut reader = IatiReader::new(xml.as_bytes());
        let mut out = Vec::new();
        while let Some(a) = reader.next_activity().await? {
            out.push(a);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn reads_activities_with_lines_entities_and_foreign_elements() {
        let xml = "<?xml version=\"1.0\"?>\n<iati-activities version=\"2.03\" xmlns:x=\"urn:x\">\n <iati-activity>\n  <iati-identifier>A-1</iati-identifier>\n  <title><narrative>Law &amp; order &#233;</narrative></title>\n  <x:secret><x:deep>hidden</x:deep></x:secret>\n </iati-activity>\n <iati-activity><iati-identifier>A-2</iati-identifier></iati-activity>\n</iati-activities>\n";
        let all = read_all(xml).await.unwrap_or_default();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].line, 3);
        assert_eq!(all[1].line, 8);
        let title = all[0]
            .element
            .child("title")
            .and_then(|t| t.child("narrative"));
        assert_eq!(title.and_then(Element::text), Some("Law & order é"));
        let kept = all[0].element.child("x:secret");
        assert_eq!(
            kept.map(Element::to_xml).as_deref(),
            Some("<x:secret><x:deep>hidden</x:deep></x:secret>")
        );
        let again = read_all(&format!(
            "<iati-activities version=\"2.03\">{}</iati-activities>",
            all[0].element.to_xml()
        ))
        .await
        .unwrap_or_default();
        assert_eq!(again[0].element.to_xml(), all[0].element.to_xml());
    }

    #[tokio::test]
    async fn malformed_documents_end_with_an_error() {
        let xml = "<iati-activities version=\"2.03\"><iati-activity><iati-identifier>A</iati-identifier></iati-activities>";
        assert!(matches!(
            read_all(xml).await,
            Err(ReadError::Malformed { .. })
        ));
        assert!(matches!(
            read_all("<html></html>").await,
            Err(ReadError::NotIati(_))
        ));
    }

    #[tokio::test]
    async fn documents_cut_between_activities_end_with_an_error() {
        let whole = "<iati-activities version=\"2.03\"><x>note</x><iati-activity><iati-identifier>A</iati-identifier></iati-activity></iati-activities>";
        assert!(read_all(whole).await.is_ok());
        let cut = "<iati-activities version=\"2.03\"><iati-activity><iati-identifier>A</iati-identifier></iati-activity>";
        assert!(matches!(
            read_all(cut).await,
            Err(ReadError::Malformed { .. })
        ));
        assert!(matches!(
            read_all("code,title\n1,x\n").await,
            Err(ReadError::Malformed { .. })
        ));
    }
}
