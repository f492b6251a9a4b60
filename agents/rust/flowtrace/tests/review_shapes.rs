//! Review (issue 17): shapes `#[flowtrace::trace]` must compile and leave unchanged.

#[flowtrace::trace]
pub mod forms {
    pub struct Buf {
        pub items: Vec<u8>,
    }

    impl Buf {
        pub fn first_mut(&mut self) -> Option<&mut u8> {
            self.items.first_mut()
        }

        pub fn boxed(self: Box<Self>) -> usize {
            self.items.len()
        }

        pub fn consume(mut self) -> Vec<u8> {
            self.items.push(0);
            self.items
        }
    }

    pub struct Implementation(pub u8);

    pub fn parse_impl(s: &str) -> Result<Implementation, std::num::ParseIntError> {
        let n: u8 = s.parse()?;
        Ok(Implementation(n))
    }

    pub fn with_cfg(#[cfg(any())] hidden: u8, shown: u8) -> u8 {
        shown
    }

    pub fn shown_arg(x: impl std::fmt::Debug + Copy) -> impl std::fmt::Debug {
        x
    }

    pub unsafe fn raw(p: *const u8) -> u8 {
        *p
    }

    pub extern "C" fn c_abi(x: u32) -> u32 {
        x + 1
    }

    pub fn bounded<T>(t: T) -> T
    where
        T: Clone,
    {
        t.clone()
    }

    pub fn elem_mut<'a>(v: &'a mut Vec<u8>, i: usize) -> &'a mut u8 {
        &mut v[i]
    }

    #[track_caller]
    pub fn caller_line() -> u32 {
        std::panic::Location::caller().line()
    }
}

#[test]
fn review_forms_behave_as_before() {
    let mut b = forms::Buf { items: vec![1, 2] };
    assert_eq!(b.first_mut().copied(), Some(1));
    assert_eq!(Box::new(forms::Buf { items: vec![1] }).boxed(), 1);
    assert_eq!(forms::Buf { items: vec![] }.consume(), vec![0]);
    assert_eq!(forms::parse_impl("7").map(|i| i.0), Ok(7));
    assert_eq!(forms::with_cfg(3), 3);
    assert_eq!(format!("{:?}", forms::shown_arg(5)), "5");
    assert_eq!(unsafe { forms::raw(&9) }, 9);
    assert_eq!(forms::c_abi(1), 2);
    assert_eq!(forms::bounded(4), 4);
    let mut v = vec![1, 2];
    *forms::elem_mut(&mut v, 1) = 5;
    assert_eq!(v, vec![1, 5]);
}

#[test]
fn review_track_caller_kept() {
    let (line, got) = (line!(), forms::caller_line());
    assert_eq!(got, line, "#[track_caller] lost: Location::caller() points inside the traced function");
}
