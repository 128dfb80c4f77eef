//! A filterable list with a selection that survives refreshes and filtering.

use std::cell::Cell;

#[derive(Debug)]
pub struct Picker<T> {
    pub items: Vec<T>,
    /// Indices into `items` that pass the filter, in order.
    pub visible: Vec<usize>,
    /// Position in `visible`.
    pub selected: usize,
    pub filter: String,
    pub loading: bool,
    pub error: Option<String>,
    /// First visible row, kept by the renderer so scrolling is stable.
    pub offset: Cell<usize>,
    /// The key of the selected item, to find it again after the list changes.
    selected_key: Option<String>,
}

impl<T> Default for Picker<T> {
    fn default() -> Self {
        Self {
            items: vec![],
            visible: vec![],
            selected: 0,
            filter: String::new(),
            loading: false,
            error: None,
            offset: Cell::new(0),
            selected_key: None,
        }
    }
}

impl<T> Picker<T> {
    pub fn current(&self) -> Option<&T> {
        self.visible.get(self.selected).and_then(|i| self.items.get(*i))
    }

    pub fn move_by(&mut self, delta: isize) {
        if self.visible.is_empty() {
            return;
        }
        let last = self.visible.len() as isize - 1;
        self.selected = (self.selected as isize).saturating_add(delta).clamp(0, last) as usize;
        self.selected_key = None;
    }

    /// New items from a (re)load: the selection stays on the same item when it is still there.
    pub fn loaded(&mut self, result: Result<Vec<T>, String>, key: impl Fn(&T) -> &str, name: impl Fn(&T) -> &str) {
        self.loading = false;
        match result {
            Ok(items) => {
                self.remember(&key);
                self.items = items;
                self.error = None;
                self.refilter(key, name);
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Applies `filter` (case-insensitive, on the name) keeping the selection.
    pub fn refilter(&mut self, key: impl Fn(&T) -> &str, name: impl Fn(&T) -> &str) {
        self.remember(&key);
        let needle = self.filter.to_lowercase();
        self.refilter_with(key, |t| needle.is_empty() || name(t).to_lowercase().contains(&needle));
    }

    /// Keeps the items `keep` accepts, with the selection on the remembered item where
    /// possible. Call [`Picker::remember`] before changing `items`.
    pub fn refilter_with(&mut self, key: impl Fn(&T) -> &str, keep: impl Fn(&T) -> bool) {
        self.visible = self.items.iter().enumerate().filter(|(_, t)| keep(t)).map(|(i, _)| i).collect();
        let found =
            self.selected_key.as_deref().and_then(|k| self.visible.iter().position(|i| key(&self.items[*i]) == k));
        self.selected = found.unwrap_or(self.selected.min(self.visible.len().saturating_sub(1)));
    }

    /// Selects the item with this key, if visible.
    pub fn select_key(&mut self, k: &str, key: impl Fn(&T) -> &str) {
        if let Some(pos) = self.visible.iter().position(|i| key(&self.items[*i]) == k) {
            self.selected = pos;
            self.selected_key = Some(k.to_string());
        }
    }

    /// Selects the item with this key now if it is listed, else once it is (after a load).
    pub fn want(&mut self, k: &str, key: impl Fn(&T) -> &str) {
        self.selected_key = Some(k.to_string());
        self.select_key(k, key);
    }

    /// Notes which item is selected, so it is found again after `items` change.
    pub fn remember(&mut self, key: &impl Fn(&T) -> &str) {
        if let Some(t) = self.current() {
            self.selected_key = Some(key(t).to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &String) -> &str {
        s
    }

    #[test]
    fn selection_survives_reload_and_filter() {
        let mut p: Picker<String> = Picker::default();
        p.loaded(Ok(vec!["a".into(), "b".into(), "c".into()]), id, id);
        p.move_by(2);
        assert_eq!(p.current().map(String::as_str), Some("c"));
        p.loaded(Ok(vec!["z".into(), "a".into(), "c".into()]), id, id);
        assert_eq!(p.current().map(String::as_str), Some("c"), "kept across a refresh that reorders");
        p.filter = "c".into();
        p.refilter(id, id);
        assert_eq!((p.visible.len(), p.current().map(String::as_str)), (1, Some("c")));
        p.filter.clear();
        p.refilter(id, id);
        assert_eq!(p.current().map(String::as_str), Some("c"), "kept when the filter is cleared");
        p.loaded(Err("boom".into()), id, id);
        assert_eq!((p.error.as_deref(), p.items.len()), (Some("boom"), 3), "an error keeps the old items");
        p.move_by(-100);
        assert_eq!(p.selected, 0);
    }
}
