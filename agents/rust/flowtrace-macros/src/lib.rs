//! `#[flowtrace::trace]`: on a function, an `impl` block or an inline module, every function with
//! a body gets an INTERNAL span (see the `flowtrace` crate). Use it through `flowtrace`, whose
//! `__private` module holds what the expansion calls.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{parse_macro_input, Block, FnArg, ImplItem, Item, Pat, ReturnType, Signature, Type};

/// Traces every function of the item it is put on. See the `flowtrace` crate.
#[proc_macro_attribute]
pub fn trace(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        let attr = TokenStream2::from(attr);
        return syn::Error::new(
            attr.span(),
            "#[flowtrace::trace] takes no arguments (filter with FLOWTRACE_INCLUDE / FLOWTRACE_EXCLUDE)",
        )
        .to_compile_error()
        .into();
    }
    let mut item = parse_macro_input!(item as Item);
    match &mut item {
        Item::Fn(_) | Item::Impl(_) => {}
        Item::Mod(m) if m.content.is_some() => {}
        Item::Mod(m) => {
            return syn::Error::new(m.span(), "#[flowtrace::trace] on a module needs its body inline (`mod name { … }`); put it on the items of a module file instead")
                .to_compile_error()
                .into();
        }
        other => {
            return syn::Error::new(
                other.span(),
                "#[flowtrace::trace] goes on a function, an impl block or an inline module",
            )
            .to_compile_error()
            .into();
        }
    }
    trace_item(&mut item, None);
    item.into_token_stream().into()
}

/// Leaves the function (or impl block, or module) it is put on untraced inside a traced one.
#[proc_macro_attribute]
pub fn skip(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Takes a `#[flowtrace::skip]` / `#[skip]` off the attributes; true when there was one.
fn take_skip(attrs: &mut Vec<syn::Attribute>) -> bool {
    let before = attrs.len();
    attrs.retain(|a| {
        let segs: Vec<String> = a.path().segments.iter().map(|s| s.ident.to_string()).collect();
        !(segs == ["flowtrace", "skip"] || segs == ["skip"])
    });
    attrs.len() != before
}

/// Whether an item already carries `#[flowtrace::trace]` (it expands on its own).
fn has_trace(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let segs: Vec<String> = a.path().segments.iter().map(|s| s.ident.to_string()).collect();
        segs == ["flowtrace", "trace"] || segs == ["trace"]
    })
}

/// `module`: the name of the inline module the item sits in, when the macro walked into it.
fn trace_item(item: &mut Item, module: Option<&str>) {
    match item {
        Item::Fn(f) => {
            if take_skip(&mut f.attrs) || f.sig.constness.is_some() || diverges(&f.sig) || tracks_caller(&f.attrs) {
                return;
            }
            let name = module.map(|m| format!("{m}.{}", f.sig.ident));
            let block = trace_fn(&f.sig, &f.block, None, name);
            *f.block = block;
        }
        Item::Impl(imp) => {
            if take_skip(&mut imp.attrs) {
                return;
            }
            let Some(ty) = type_name(&imp.self_ty) else { return };
            for it in &mut imp.items {
                if let ImplItem::Fn(f) = it {
                    if take_skip(&mut f.attrs)
                        || f.sig.constness.is_some()
                        || diverges(&f.sig)
                        || tracks_caller(&f.attrs)
                    {
                        continue;
                    }
                    let block = trace_fn(&f.sig, &f.block, Some(&ty), Some(format!("{ty}.{}", f.sig.ident)));
                    f.block = block;
                }
            }
        }
        Item::Mod(m) => {
            if take_skip(&mut m.attrs) {
                return;
            }
            let name = m.ident.to_string();
            if let Some((_, items)) = &mut m.content {
                for it in items {
                    let nested_traced = match it {
                        Item::Fn(f) => has_trace(&f.attrs),
                        Item::Impl(i) => has_trace(&i.attrs),
                        Item::Mod(mm) => has_trace(&mm.attrs),
                        _ => false,
                    };
                    if !nested_traced {
                        trace_item(it, Some(&name));
                    }
                }
            }
        }
        _ => {}
    }
}

/// `#[track_caller]`: left as it is (the body would run in a closure, which cannot carry the
/// attribute on stable Rust, so `Location::caller()` and its panics would point inside the function).
fn tracks_caller(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("track_caller"))
}

/// `fn f() -> !`: left as it is (a diverging body has no outcome to record, and `!` cannot be
/// named in a `let`).
fn diverges(sig: &Signature) -> bool {
    matches!(&sig.output, ReturnType::Type(_, t) if matches!(**t, Type::Never(_)))
}

/// `Cart` for `Cart`, `Cart<T>`, `shop::Cart`, `&Cart`.
fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        _ => None,
    }
}

/// Whether a return type can be named in a `let` (no `impl Trait`).
fn nameable(ret: &ReturnType) -> bool {
    match ret {
        ReturnType::Default => true,
        ReturnType::Type(_, t) => !t.to_token_stream().to_string().contains("impl"),
    }
}

/// `code.file.path` as the other agents write it: the absolute path of the file being expanded
/// (`Span::local_file`, stable since Rust 1.88; rustc runs in the workspace root, so a relative
/// path is joined to it), else `file!()` (no real file behind the span: a macro-made one; or a
/// path the build remapped, see `code_file_path`).
fn source_path() -> TokenStream2 {
    if !proc_macro::is_available() {
        return quote!(file!());
    }
    let span = proc_macro::Span::call_site();
    match code_file_path(&span.file(), span.local_file(), std::env::current_dir().ok()) {
        Some(s) => quote!(#s),
        None => quote!(file!()),
    }
}

/// The absolute path for `code.file.path`, or None for `file!()`: when the name the compiler
/// displays (`display`, remapped by `--remap-path-prefix` / Cargo's `trim-paths`) is not the
/// file on disk, the build asked to keep the machine's paths out of the binary (the proc_macro
/// docs: the local path "should not be embedded in the output of the macro").
fn code_file_path(display: &str, local: Option<std::path::PathBuf>, cwd: Option<std::path::PathBuf>) -> Option<String> {
    let local = local?;
    if std::path::Path::new(display) != local {
        return None;
    }
    let abs = if local.is_absolute() { local } else { cwd.map(|d| d.join(&local)).unwrap_or(local) };
    Some(abs.to_string_lossy().into_owned())
}

fn trace_fn(sig: &Signature, block: &Block, self_ty: Option<&str>, name: Option<String>) -> Block {
    let ident = &sig.ident;
    let fn_name = ident.to_string();
    let at = ident.span();
    let (function, namespace) = match self_ty {
        Some(ty) => {
            (quote!(concat!(module_path!(), "::", #ty, "::", #fn_name)), quote!(concat!(module_path!(), "::", #ty)))
        }
        None => (quote!(concat!(module_path!(), "::", #fn_name)), quote!(module_path!())),
    };
    let line = quote_spanned!(at=> line!());
    let path = source_path();
    let p = quote!(::flowtrace::__private);
    // The span name is static: `Type.method`, `module.function` when the macro walked into the
    // module, else built at compile time from the last segment of `module_path!()`.
    let name_items = match name {
        Some(n) => quote!(const __FT_NAME: &str = #n;),
        None => quote! {
            const __FT_MODULE: &str = #p::last_segment(module_path!());
            const __FT_NAME_LEN: usize = __FT_MODULE.len() + 1 + #fn_name.len();
            const __FT_NAME_BYTES: [u8; __FT_NAME_LEN] = #p::join_name::<__FT_NAME_LEN>(__FT_MODULE, #fn_name);
            const __FT_NAME: &str = match ::core::str::from_utf8(&__FT_NAME_BYTES) {
                Ok(s) => s,
                Err(_) => #fn_name,
            };
        },
    };

    // Arguments: `self` is not counted; a parameter bound by a plain name is captured under it.
    let mut captures = Vec::new();
    let mut index = 0usize;
    for input in &sig.inputs {
        let FnArg::Typed(pt) = input else { continue };
        if let Pat::Ident(pi) = &*pt.pat {
            let var = &pi.ident;
            let key = var.to_string();
            // `#[cfg(…)]` on the parameter goes on its capture too: the name may not exist.
            let cfgs = pt.attrs.iter().filter(|a| a.path().is_ident("cfg"));
            if key != "_" {
                captures.push(quote! {
                    #(#cfgs)*
                    __FT_SITE.record_arg(&__ft_span, #index, #key, &|max: usize, key: &str| (&&&&#p::Wrap(&#var)).ft_render(max, key));
                });
            }
        }
        index += 1;
    }
    let capture_args = if captures.is_empty() {
        quote!()
    } else {
        quote! {
            if !__ft_span.is_none() && __FT_SITE.capture_args() {
                #[allow(unused_imports)]
                use #p::{RenderDebug as _, RenderInt as _, RenderNone as _, RenderStr as _};
                #(#captures)*
            }
        }
    };

    // Pins the body's type to the declared return type, so `?` inside knows what to convert to.
    let fake_return = match (&sig.output, nameable(&sig.output)) {
        (ReturnType::Type(_, t), true) => quote! {
            #[allow(unreachable_code, clippy::diverging_sub_expression, clippy::needless_return)]
            if false {
                let __ft_fake: #t = loop {};
                return __ft_fake;
            }
        },
        _ => quote!(),
    };
    let stmts = &block.stmts;
    let body = if sig.asyncness.is_some() {
        quote! {
            #p::Traced::new(&__FT_SITE, __ft_span.clone(), async move { #fake_return #(#stmts)* }).await
        }
    } else {
        quote! {
            #p::call(&__FT_SITE, &__ft_span, move || { #fake_return #(#stmts)* })
        }
    };
    let record_return = match &sig.output {
        ReturnType::Default => quote!(),
        ReturnType::Type(..) => quote! {
            if !__ft_span.is_none() {
                #[allow(unused_imports)]
                use #p::{OutcomeDebug as _, OutcomeDisplay as _, OutcomeError as _, OutcomeNone as _, RenderDebug as _, RenderInt as _, RenderNone as _, RenderStr as _};
                __FT_SITE.record_return(
                    &__ft_span,
                    &|max: usize, key: &str| (&&&&#p::Wrap(&__ft_r)).ft_render(max, key),
                    (&&&&#p::Wrap(&__ft_r)).ft_error(),
                );
            }
        },
    };
    let tokens = quote! {
        {
            #name_items
            static __FT_SITE: #p::Site = #p::Site::new(#function, #namespace, file!(), #line, __FT_NAME).with_path(#path);
            let __ft_span = if __FT_SITE.enabled() {
                #p::tracing::span!(
                    target: "flowtrace",
                    #p::tracing::Level::INFO,
                    __FT_NAME,
                    otel.kind = "internal",
                    code.function.name = __FT_SITE.function,
                    code.namespace = __FT_SITE.namespace,
                    code.file.path = __FT_SITE.path,
                    code.line.number = __FT_SITE.line
                )
            } else {
                #p::tracing::Span::none()
            };
            #capture_args
            #[allow(clippy::redundant_closure_call)]
            let __ft_r = #body;
            #record_return
            __ft_r
        }
    };
    syn::parse2(tokens).unwrap_or_else(|e| {
        let err = e.to_compile_error();
        syn::parse_quote!({ #err })
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::code_file_path;

    /// A build with `--remap-path-prefix` (Cargo's `trim-paths`) asked for the machine's paths to
    /// stay out of the binary: `code.file.path` then keeps the remapped name (`file!()`), as a Go
    /// `-trimpath` build does; without remapping it is the absolute path on disk.
    #[test]
    fn remapped_paths_are_not_replaced_by_the_local_one() {
        let cwd = Some(PathBuf::from("/home/ann/shop"));
        let local = || Some(PathBuf::from("src/cart.rs"));
        assert_eq!(code_file_path("src/cart.rs", local(), cwd.clone()).as_deref(), Some("/home/ann/shop/src/cart.rs"));
        assert_eq!(code_file_path("shop/src/cart.rs", local(), cwd.clone()), None);
        assert_eq!(
            code_file_path("/abs/x.rs", Some(PathBuf::from("/abs/x.rs")), cwd.clone()).as_deref(),
            Some("/abs/x.rs")
        );
        assert_eq!(code_file_path("<macro>", None, cwd), None);
    }
}
