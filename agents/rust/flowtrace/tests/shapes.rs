//! What `#[flowtrace::trace]` must compile and leave unchanged, with the agent never started (so
//! also: without `init`, a traced function runs as before and makes no span).

use std::borrow::Cow;
use std::fmt::Debug;

pub struct NoDebug(u8);

#[derive(Debug, PartialEq)]
pub struct Err1;

pub trait Named {
    fn name(&self) -> String;
}

pub struct Store<T> {
    items: Vec<T>,
    label: String,
}

#[flowtrace::trace]
impl<T: Clone + Debug> Store<T> {
    pub fn new(label: &str) -> Self {
        Store { items: Vec::new(), label: label.to_string() }
    }

    pub fn push(&mut self, item: T) -> &mut Self {
        self.items.push(item);
        self
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn first<'a>(&'a self, fallback: &'a T) -> &'a T {
        self.items.first().unwrap_or(fallback)
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.items.iter()
    }

    pub fn into_items(self) -> Vec<T> {
        self.items
    }

    pub fn parse_len(&self, text: &str) -> Result<usize, std::num::ParseIntError> {
        let n: usize = text.trim().parse()?;
        if n > 100 {
            return Ok(100);
        }
        Ok(n + self.items.len())
    }

    pub async fn later(&self, (a, b): (u32, u32), opaque: NoDebug) -> Result<u32, Err1> {
        tokio::task::yield_now().await;
        if a == 0 {
            return Err(Err1);
        }
        Ok(a + b + u32::from(opaque.0))
    }

    pub async fn borrowed<'a>(&'a self, s: &'a str) -> Cow<'a, str> {
        tokio::task::yield_now().await;
        Cow::Borrowed(s)
    }

    pub fn generic<U: Into<u64>>(&self, u: U) -> u64 {
        u.into()
    }

    #[flowtrace::skip]
    pub fn skipped(&self) -> usize {
        self.items.len()
    }

    pub const fn constant() -> u8 {
        3
    }
}

#[flowtrace::trace]
impl Named for Store<u8> {
    fn name(&self) -> String {
        format!("store {}", self.label)
    }
}

#[flowtrace::trace]
pub fn free(a: i64, b: &mut Vec<i64>) -> Option<i64> {
    b.push(a);
    b.iter().copied().max()
}

#[flowtrace::trace]
pub fn unit(_: u8) {}

#[flowtrace::trace]
pub mod nested {
    pub fn outer() -> u8 {
        inner::deep() + 1
    }

    pub mod inner {
        pub fn deep() -> u8 {
            1
        }
    }

    pub struct Thing;

    impl Thing {
        pub fn go(&self) -> u8 {
            2
        }
    }

    pub fn never(code: i32) -> ! {
        panic!("never {code}")
    }

    pub async fn run(x: u8) -> u8 {
        x
    }

    pub fn dyn_err(fail: bool) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
        if fail {
            Err("broken".into())
        } else {
            Ok(1)
        }
    }
}

#[tokio::test]
async fn traced_code_behaves_as_before() {
    let mut s: Store<u8> = Store::new("shelf");
    s.push(1).push(2);
    assert_eq!(s.label(), "shelf");
    assert_eq!(*s.first(&9), 1);
    assert_eq!(s.iter().count(), 2);
    assert_eq!(s.parse_len(" 5 "), Ok(7));
    assert_eq!(s.parse_len("500"), Ok(100));
    assert!(s.parse_len("x").is_err());
    assert_eq!(s.later((1, 2), NoDebug(3)).await, Ok(6));
    assert_eq!(s.later((0, 2), NoDebug(3)).await, Err(Err1));
    assert_eq!(s.borrowed("hi").await, "hi");
    assert_eq!(s.generic(5u32), 5);
    assert_eq!(s.skipped(), 2);
    assert_eq!(Store::<u8>::constant(), 3);
    assert_eq!(s.name(), "store shelf");
    assert_eq!(s.into_items(), vec![1, 2]);
    let mut v = vec![];
    assert_eq!(free(4, &mut v), Some(4));
    unit(1);
    assert_eq!(nested::outer(), 2);
    assert_eq!(nested::Thing.go(), 2);
    assert_eq!(nested::run(4).await, 4);
    assert_eq!(nested::dyn_err(true).unwrap_err().to_string(), "broken");
    assert_eq!(nested::dyn_err(false).unwrap(), 1);
    assert!(std::panic::catch_unwind(|| nested::never(1)).is_err());
}

#[test]
fn panics_pass_through_unchanged_without_the_agent() {
    #[flowtrace::trace]
    fn explode(n: u32) -> u32 {
        if n > 0 {
            std::panic::panic_any(n);
        }
        n
    }
    let payload = std::panic::catch_unwind(|| explode(42)).unwrap_err();
    assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
    assert_eq!(explode(0), 0);
}
