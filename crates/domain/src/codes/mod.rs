//! Code lists the registry checks input against: IATI 2.03 tables generated from the official
//! lists by `scripts/gen_codelists.py`, looked up by binary search.

#[rustfmt::skip]
mod tables;

pub use tables::*;

/// One code of a code list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The code as IATI writes it, e.g. `KE`, `15130`, `USD`.
    pub code: &'static str,
    /// The English name.
    pub name: &'static str,
    /// Withdrawn codes are still accepted from IATI imports, with a warning.
    pub withdrawn: bool,
}

/// A whole code list, sorted by code.
#[derive(Debug)]
pub struct CodeList {
    /// The IATI name of the list, e.g. `Country`.
    pub name: &'static str,
    /// The codes, sorted by `code`.
    pub codes: &'static [Code],
}

impl CodeList {
    /// Finds a code, exactly as written.
    pub fn get(&self, code: &str) -> Option<&'static Code> {
        self.codes
            .binary_search_by(|c| c.code.cmp(code))
            .ok()
            .map(|i| &self.codes[i])
    }

    /// The English name of a code, if it exists.
    pub fn name_of(&self, code: &str) -> Option<&'static str> {
        self.get(code).map(|c| c.name)
    }

    /// Whether the code exists and is not withdrawn.
    pub fn is_active(&self, code: &str) -> bool {
        self.get(code).is_some_and(|c| !c.withdrawn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for list in [
            &COUNTRY,
            &SECTOR,
            &SECTOR_CATEGORY,
            &CURRENCY,
            &LANGUAGE,
            &REGION,
        ] {
            assert!(
                list.codes.windows(2).all(|w| w[0].code < w[1].code),
                "{} is not sorted",
                list.name
            );
        }
    }

    #[test]
    fn finds_real_codes_and_refuses_unknown_ones() {
        assert_eq!(COUNTRY.name_of("KE"), Some("Kenya"));
        assert!(COUNTRY.get("XX").is_none());
        assert!(SECTOR.is_active("15130"));
        assert!(CURRENCY.is_active("EUR"));
        assert!(!CURRENCY.is_active("EURO"));
        assert!(SECTOR.get("15120").is_some_and(|c| c.withdrawn));
    }
}
