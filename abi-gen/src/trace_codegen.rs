//! Token generation of the strace-style formatters: one function per spec
//! entry that writes `name(arg, ...)` from the raw arguments, reading user
//! memory for strings, buffers and structs.
//!
//! Each argument kind maps to one helper of `syscall_abi::trace::format`;
//! a few arguments whose integer value has symbolic names in strace (`lseek`'s
//! `whence`, `fcntl`'s `cmd`) get a named-constant helper instead.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use crate::spec::{Arg, ArgKind, Dir, Entry, Spec};

/// Generate the `formats` module: `formats::<name>(mem, raw, ret, out)` for
/// every entry.
pub fn generate_formats(spec: &Spec) -> TokenStream {
    let functions = spec.entries.iter().map(generate_format);
    quote! {
        /// strace-style formatters of the calls, one per spec entry: each
        /// writes `name(arg, ...)`. `ret` is the encoded result, or `None`
        /// when the line is written before the call (calls that do not
        /// return); output buffers and structs are decoded only after a
        /// successful call, as strace does.
        pub mod formats {
            #(#functions)*
        }
    }
}

/// The `match` arms of an architecture's `format_call`.
pub fn format_arms(numbered: &[(u32, &Entry)]) -> Vec<TokenStream> {
    numbered
        .iter()
        .map(|(number, entry)| {
            let number = Literal::usize_unsuffixed(*number as usize);
            let function = format_ident!("{}", entry.name);
            quote!(#number => crate::formats::#function(mem, raw, ret, out),)
        })
        .collect()
}

/// Named-constant table of an integer argument, by entry and argument name.
fn named_table(entry: &str, arg: &str) -> Option<&'static str> {
    Some(match (entry, arg) {
        ("lseek", "whence") => "SEEK_WHENCE",
        ("madvise", "advice") => "MADVISE_ADVICE",
        ("fcntl", "cmd") => "FCNTL_CMD",
        ("ioctl", "request") => "IOCTL_REQUEST",
        ("rt_sigprocmask", "how") => "SIGPROCMASK_HOW",
        ("prlimit64" | "getrlimit" | "setrlimit", "resource") => "RLIMIT_RESOURCE",
        ("socket" | "socketpair", "domain") => "SOCKET_DOMAIN",
        _ => return None,
    })
}

fn generate_format(entry: &Entry) -> TokenStream {
    let function = format_ident!("{}", entry.name);
    let name = &entry.name;
    let mut parts = Vec::new();
    let mut previous_open_flags = false;
    for (i, arg) in entry.args.iter().enumerate() {
        let value = arg_format(entry, i, arg);
        let separator = if i > 0 {
            quote!(out.write_str(", ")?;)
        } else {
            quote!()
        };
        // strace shows openat's mode only when the flags create a file, and
        // fcntl's argument only for commands that take one.
        let is_mode = matches!(&arg.kind, ArgKind::Int { spec, .. } if spec == "mode");
        let condition = if previous_open_flags && is_mode {
            let flags = Literal::usize_unsuffixed(i - 1);
            Some(quote!(f::open_takes_mode(raw[#flags])))
        } else if entry.name == "fcntl" && matches!(arg.kind, ArgKind::Raw) {
            let cmd = Literal::usize_unsuffixed(i - 1);
            Some(quote!(f::fcntl_takes_arg(raw[#cmd])))
        } else {
            None
        };
        if let Some(condition) = condition {
            parts.push(quote! {
                if #condition {
                    #separator
                    #value
                }
            });
        } else {
            parts.push(quote!(#separator #value));
        }
        previous_open_flags = matches!(&arg.kind, ArgKind::Flags { ty, .. } if ty == "OpenFlags");
    }
    let unused = if entry.args.is_empty() {
        quote!(let _ = (mem, raw, ret);)
    } else {
        quote!(let _ = (mem, ret);)
    };
    quote! {
        #[allow(unused_imports)]
        pub fn #function<M: crate::UserMemory>(
            mem: &M,
            raw: &[usize; 6],
            ret: ::core::option::Option<isize>,
            out: &mut dyn ::core::fmt::Write,
        ) -> ::core::fmt::Result {
            use crate::trace::format as f;
            #unused
            out.write_str(#name)?;
            out.write_str("(")?;
            #(#parts)*
            out.write_str(")")
        }
    }
}

/// Expression (ending in `?;`) that formats argument `i`.
fn arg_format(entry: &Entry, i: usize, arg: &Arg) -> TokenStream {
    let index = Literal::usize_unsuffixed(i);
    let value = quote!(raw[#index]);
    let len_value = |j: usize| {
        let j = Literal::usize_unsuffixed(j);
        quote!(raw[#j])
    };
    let element = |of: &str| -> TokenStream {
        if crate::spec::PRIMITIVES.contains(&of) {
            let ident = Ident::new(of, Span::call_site());
            quote!(#ident)
        } else {
            let ident = Ident::new(of, Span::call_site());
            quote!(crate::#ident)
        }
    };
    // Calls whose iovecs or buffers the kernel fills: their data is shown
    // after the call, with the returned length.
    let fills_iovecs = entry.name.contains("read") || entry.name.contains("recv");
    match &arg.kind {
        ArgKind::Fd | ArgKind::MmapFd => quote!(f::fd(out, #value)?;),
        ArgKind::DirFd => quote!(f::dirfd(out, #value)?;),
        ArgKind::Int { spec, rust } => {
            if let Some(table) = named_table(&entry.name, &arg.name) {
                let table = Ident::new(table, Span::call_site());
                return quote!(f::named(out, f::#table, #value)?;);
            }
            match spec.as_str() {
                "mode" => quote!(f::mode(out, #value)?;),
                "signal" => quote!(f::signal(out, #value)?;),
                "clockid" => quote!(f::named(out, f::CLOCK_ID, #value)?;),
                _ => {
                    let ty = Ident::new(rust, Span::call_site());
                    quote!(f::int::<#ty>(out, #value)?;)
                }
            }
        }
        ArgKind::Flags { ty, .. } => {
            let ty = Ident::new(ty, Span::call_site());
            quote!(f::flags::<crate::#ty>(out, #value)?;)
        }
        ArgKind::Ptr { dir, of, len, .. } => match (len, of.as_str()) {
            (Some(j), "u8") => {
                let len = len_value(*j);
                match dir {
                    Dir::In => quote!(f::bytes_in(out, mem, #value, #len)?;),
                    Dir::Out | Dir::InOut if entry.name == "getdents64" => {
                        quote!(f::dirents(out, mem, #value, ret)?;)
                    }
                    Dir::Out | Dir::InOut if entry.name == "getcwd" => {
                        quote!(f::cstr_out(out, mem, #value, ret)?;)
                    }
                    Dir::Out | Dir::InOut => quote!(f::bytes_out(out, mem, #value, ret)?;),
                }
            }
            (Some(j), _) => {
                let len = len_value(*j);
                let ty = element(of);
                match dir {
                    Dir::In | Dir::InOut => {
                        quote!(f::array_in::<#ty, M>(out, mem, #value, #len)?;)
                    }
                    Dir::Out => quote!(f::array_out::<#ty, M>(out, mem, #value, ret)?;),
                }
            }
            (None, "Sigset") => match dir {
                Dir::In | Dir::InOut => quote!(f::sigset_in(out, mem, #value)?;),
                Dir::Out => quote!(f::sigset_out(out, mem, #value, ret)?;),
            },
            (None, _) => {
                let ty = element(of);
                match dir {
                    Dir::In | Dir::InOut => quote!(f::value_in::<#ty, M>(out, mem, #value)?;),
                    Dir::Out => quote!(f::value_out::<#ty, M>(out, mem, #value, ret)?;),
                }
            }
        },
        ArgKind::Iovec { len, .. } => {
            let count = len_value(*len);
            if fills_iovecs {
                quote!(f::iovec(out, mem, #value, #count, f::IovecData::Returned(ret))?;)
            } else {
                quote!(f::iovec(out, mem, #value, #count, f::IovecData::Given)?;)
            }
        }
        ArgKind::Path { .. } | ArgKind::CStr { .. } => quote!(f::path(out, mem, #value)?;),
        ArgKind::CStrArray { .. } => quote!(f::cstr_array(out, mem, #value)?;),
        ArgKind::Raw if entry.name == "fcntl" => {
            let cmd = len_value(i - 1);
            quote!(f::fcntl_arg(out, #cmd, #value)?;)
        }
        ArgKind::Raw | ArgKind::Addr => quote!(f::addr(out, #value)?;),
    }
}
