//! Passwords (step 20): each kept as its Argon2id hash, and guarded against
//! guessing.
//!
//! A hash cannot be turned back into the password: logging in hashes the
//! password typed, with the salt and the settings written in the stored hash,
//! and compares. Argon2id is slow and takes memory on purpose, so that
//! trying many passwords against a stolen hash is slow too.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::error::BlockingError;
use actix_web::web;
use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::password_hash::{Error, generate_salt};
use argon2::{ARGON2ID_IDENT, Argon2, Block, Params, PasswordHash};
use tokio::sync::Semaphore;

use crate::accounts::AuthError;
use crate::errors::ApiError;

/// How many hashes may be computed at once. Each works in 19 MiB of memory,
/// so four take 76 MiB; and with two to four cores, more at once would not
/// finish sooner, only wait for a core.
const HASHES_AT_ONCE: usize = 4;

/// Hashes passwords and checks them, on the blocking threads (`web::block`),
/// never on the workers that serve requests: a hash takes some 20 ms of a
/// core, and meanwhile a worker would serve nothing else.
pub struct Passwords {
    /// The turns to compute a hash, and the memory each turn lends to the
    /// hash it runs: made once, then used again and again.
    turns: Semaphore,
    memories: Mutex<Vec<Vec<Block>>>,
    /// The hash of a password nobody has: an unknown nickname's password is
    /// checked against it, to take as long as a known one's.
    nobodys: String,
    /// The wrong passwords tried lately.
    limit: LoginLimit,
}

impl Passwords {
    /// Computes the hash that stands for nobody's, and says how long a
    /// hash takes on this machine.
    pub fn new() -> Passwords {
        let started = Instant::now();
        let mut memory = new_memory();
        let nobodys = hash(b"nobody's password", &mut memory).expect("Argon2 works");
        log::info!(
            "passwords: Argon2id, {} KiB and {} passes per hash, {:.0?} each here",
            Params::DEFAULT_M_COST,
            Params::DEFAULT_T_COST,
            started.elapsed()
        );
        Passwords {
            turns: Semaphore::new(HASHES_AT_ONCE),
            memories: Mutex::new(vec![memory]),
            nobodys,
            limit: LoginLimit::default(),
        }
    }

    /// The hash to store for `password`: a PHC string, with a new random
    /// salt; or 422 for a password too short.
    pub async fn hash(&self, password: String) -> Result<String, AuthError> {
        if password.chars().count() < SHORTEST_PASSWORD {
            let rule = format!("password must be at least {SHORTEST_PASSWORD} characters long");
            return Err(ApiError::BadInput(rule).into());
        }
        let hashed = self.in_turn(move |memory| hash(password.as_bytes(), memory)).await?;
        hashed.map_err(|e| AuthError::Internal(format!("Argon2 failed: {e}")))
    }

    /// Checks that `password` is the one of `nickname`'s account, whose hash
    /// is `stored` (`None`: no such account, which is checked all the same,
    /// to take as long). Refuses it as wrong (401), or unchecked while the
    /// nickname must wait after too many wrong ones (429).
    pub async fn check(
        &self,
        nickname: &str,
        password: String,
        stored: Option<String>,
    ) -> Result<(), AuthError> {
        self.limit.try_now(nickname).map_err(AuthError::TooManyTries)?;
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.nobodys.clone());
        let right = self.in_turn(move |memory| verify(password.as_bytes(), &stored, memory));
        if !(right.await? && known) {
            return Err(AuthError::WrongPassword);
        }
        self.limit.forget(nickname);
        Ok(())
    }

    /// Runs `work` on a blocking thread, in one of the `HASHES_AT_ONCE`
    /// turns, with that turn's memory: a burst of logins waits in line.
    async fn in_turn<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, BlockingError> {
        let _turn = self.turns.acquire().await.expect("the semaphore is never closed");
        let mut memory = self.memories().pop().unwrap_or_else(new_memory);
        let (answer, memory) = web::block(move || (work(&mut memory), memory)).await?;
        self.memories().push(memory);
        Ok(answer)
    }

    fn memories(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        self.memories.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The fewest characters a password may have (OWASP's minimum).
const SHORTEST_PASSWORD: usize = 8;

/// The working memory of one hash: Argon2id with the crate's defaults,
/// OWASP's minimum, takes 19 MiB (and 2 passes over it, in 1 lane). Asked
/// of the allocator at each hash, as `hash_password` does, much of it is
/// never given back (measured: the lesson's "Going deeper").
fn new_memory() -> Vec<Block> {
    vec![Block::default(); Params::DEFAULT_M_COST as usize]
}

/// The PHC string of `password`'s hash, with a new random salt:
/// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
fn hash(password: &[u8], memory: &mut [Block]) -> Result<String, Error> {
    let argon2 = Argon2::default();
    let salt = Salt::new(&generate_salt())?;
    let mut output = [0; Params::DEFAULT_OUTPUT_LEN];
    argon2.hash_password_into_with_memory(password, &salt, &mut output, memory)?;
    let hash = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(argon2::Version::default().into()),
        params: ParamsString::try_from(argon2.params())?,
        salt: Some(salt),
        hash: Some(Output::new(&output)?),
    };
    Ok(hash.to_string())
}

/// Whether `password` hashes, with the salt and settings of the PHC string
/// `stored`, to the hash it holds (compared in constant time, by `Output`).
fn verify(password: &[u8], stored: &str, memory: &mut [Block]) -> bool {
    let Ok(stored) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(params), Some(salt), Some(expected)) =
        (Params::try_from(&stored), stored.salt, stored.hash)
    else {
        return false;
    };
    // Every hash here is Argon2id, version 19 (0x13): only its settings vary.
    let argon2 = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut output = vec![0; expected.len()];
    let done = argon2.hash_password_into_with_memory(password, &salt, &mut output, memory);
    done.is_ok() && Output::new(&output).is_ok_and(|output| output == expected)
}

/// Wrong passwords in a row that are checked as they come, for one nickname.
const FREE_TRIES: u32 = 5;
/// After them, the wait before the next try: 1 s, then twice as long after
/// each wrong password, up to 15 minutes.
const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(15 * 60);
/// A nickname left alone this long starts again with its free tries.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);

/// The wrong passwords tried for each nickname lately, known or not (an
/// unknown one is limited the same way, so the limit tells nothing).
#[derive(Default)]
struct LoginLimit {
    /// By nickname (its hash: a nickname may be long), the tries in a row
    /// that were not right, and when the last one came.
    tries: Mutex<HashMap<u64, (u32, Instant)>>,
    keys: RandomState,
}

impl LoginLimit {
    /// Counts a try for `nickname`, before its password is checked, so that
    /// tries sent all at once count too; or, while it must wait, refuses
    /// it, answering how long until the next try may come.
    fn try_now(&self, nickname: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut tries = self.tries.lock().unwrap_or_else(PoisonError::into_inner);
        if tries.len() > 10_000 {
            tries.retain(|_, (_, last)| now - *last < FORGET_AFTER);
        }
        let (count, last) = tries.entry(self.keys.hash_one(nickname)).or_insert((0, now));
        if now - *last >= FORGET_AFTER {
            *count = 0;
        }
        if *count >= FREE_TRIES {
            let doublings = (*count - FREE_TRIES).min(10);
            let wait = (FIRST_WAIT * 2_u32.pow(doublings)).min(LONGEST_WAIT);
            if now < *last + wait {
                return Err(*last + wait - now);
            }
        }
        *count += 1;
        *last = now;
        Ok(())
    }

    /// The right password came: the nickname's tries start again.
    fn forget(&self, nickname: &str) {
        let mut tries = self.tries.lock().unwrap_or_else(PoisonError::into_inner);
        tries.remove(&self.keys.hash_one(nickname));
    }
}
