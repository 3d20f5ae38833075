//! The cookies a test's client keeps, as a browser does: from step 20 on,
//! the session cookie that logging in sets.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A cookie jar: what the answers' `Set-Cookie` headers set, sent back in a
/// `Cookie` header with each request. Its clones share it.
#[derive(Clone, Debug, Default)]
pub struct Cookies(Arc<Mutex<BTreeMap<String, String>>>);

impl Cookies {
    /// A jar of its own, holding the same cookies as this one now.
    pub fn copy(&self) -> Cookies {
        Cookies(Arc::new(Mutex::new(self.lock().clone())))
    }

    /// The `Cookie` header that sends them all back; `None` when empty.
    pub fn header(&self) -> Option<String> {
        let jar = self.lock();
        let pairs: Vec<String> = jar
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Keeps what the `Set-Cookie` headers among `headers` (names in lower
    /// case) say: a cookie set, or deleted (`Max-Age=0`, or an empty value).
    pub fn keep(&self, headers: &[(String, String)]) {
        let mut jar = self.lock();
        for (_, set) in headers.iter().filter(|(name, _)| name == "set-cookie") {
            let mut parts = set.split(';').map(str::trim);
            let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
                continue;
            };
            let deleted = value.is_empty()
                || parts.any(|attribute| attribute.eq_ignore_ascii_case("max-age=0"));
            if deleted {
                jar.remove(name);
            } else {
                jar.insert(name.to_string(), value.to_string());
            }
        }
    }

    /// The value of cookie `name`, if the jar has it.
    pub fn get(&self, name: &str) -> Option<String> {
        self.lock().get(name).cloned()
    }

    /// Puts cookie `name` in the jar, as a client that forges one would.
    pub fn set(&self, name: &str, value: &str) {
        self.lock().insert(name.to_string(), value.to_string());
    }

    /// Empties the jar: the requests that follow come from a new browser.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
