//! Token generation for the `generate_abi!` macro.
//!
//! The output is expanded at the root of `syscall-abi` and refers to its
//! hand-written items through `crate::` paths.

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use crate::spec::{ARCHES, Arg, ArgKind, Dir, Entry, Family, Level, PRIMITIVES, Spec, Unknown};

/// Generate every item of the ABI layer from a checked spec. `spec_path` is
/// the absolute path of the spec file, included so that cargo rebuilds the
/// invoking crate when the spec changes.
pub fn generate(spec: &Spec, spec_path: &str) -> TokenStream {
    let entries = generate_entries(spec);
    let numbers = generate_numbers(spec);
    let traits = generate_traits(spec);
    let calls = generate_calls(spec);
    let formats = crate::trace_codegen::generate_formats(spec);
    let arch_modules = ARCHES
        .iter()
        .enumerate()
        .map(|(slot, arch)| generate_arch_module(spec, slot, arch));
    let count = spec.entries.len();
    let all_infos = spec.entries.iter().map(|e| {
        let id = info_ident(e);
        quote!(&entries::#id)
    });

    quote! {
        const _: &str = include_str!(#spec_path);

        /// Metadata of every spec entry, one static per syscall.
        pub mod entries {
            #entries
        }

        /// Metadata of every spec entry, in spec order.
        pub static SYSCALLS: [&SyscallInfo; #count] = [#(#all_infos),*];

        #numbers
        #traits

        /// Decode-validate-call shims, one per spec entry; the dispatch
        /// functions of the architecture modules call them.
        #[doc(hidden)]
        pub mod calls {
            #calls
        }

        #formats

        #(#arch_modules)*
    }
}

fn info_ident(entry: &Entry) -> Ident {
    format_ident!("{}", entry.name.to_uppercase())
}

fn method_ident(entry: &Entry) -> Ident {
    format_ident!("sys_{}", entry.name)
}

fn arch_variant(arch: &str) -> Ident {
    let name = match arch {
        "aarch64" => "Aarch64",
        "riscv64" => "Riscv64",
        "x86_64" => "X86_64",
        _ => "Loongarch64",
    };
    Ident::new(name, Span::call_site())
}

/// Path of a type named in the spec: primitives as they are, everything else
/// from the crate root.
fn type_path(name: &str) -> TokenStream {
    let ident = Ident::new(name, Span::call_site());
    if PRIMITIVES.contains(&name) {
        quote!(#ident)
    } else {
        quote!(crate::#ident)
    }
}

fn generate_entries(spec: &Spec) -> TokenStream {
    let statics = spec.entries.iter().map(|entry| {
        let id = info_ident(entry);
        let name = &entry.name;
        let family = Ident::new(entry.family.variant(), Span::call_site());
        let level = Ident::new(entry.level.variant(), Span::call_site());
        let ret = Ident::new(entry.ret.variant(), Span::call_site());
        let note = &entry.note;
        let errno = entry.errno.iter().map(|e| Ident::new(e, Span::call_site()));
        let numbers = entry.nr.iter().map(|n| match n {
            Some(n) => {
                let n = Literal::usize_unsuffixed(*n as usize);
                quote!(Some(#n))
            }
            None => quote!(None),
        });
        let args = entry.args.iter().map(|arg| {
            let arg_name = &arg.name;
            let kind = arg_kind_info(arg);
            quote!(crate::ArgInfo { name: #arg_name, kind: #kind })
        });
        let classes = Literal::u8_unsuffixed(entry.classes);
        let doc = format!("Metadata of `{name}`.");
        quote! {
            #[doc = #doc]
            pub static #id: crate::SyscallInfo = crate::SyscallInfo {
                name: #name,
                family: crate::Family::#family,
                args: &[#(#args),*],
                ret: crate::RetKind::#ret,
                level: crate::Level::#level,
                errno: &[#(crate::LinuxError::#errno),*],
                note: #note,
                nr: [#(#numbers),*],
                stub_calls: crate::stats::StubCounter::new(),
                classes: crate::TraceClasses::from_bits_retain(#classes),
                counters: crate::trace::CallCounters::new(),
            };
        }
    });
    quote!(#(#statics)*)
}

fn arg_kind_info(arg: &Arg) -> TokenStream {
    match &arg.kind {
        ArgKind::Fd => quote!(crate::ArgKind::Fd),
        ArgKind::DirFd => quote!(crate::ArgKind::DirFd),
        ArgKind::MmapFd => quote!(crate::ArgKind::MmapFd),
        ArgKind::Int { rust, .. } => quote!(crate::ArgKind::Int(#rust)),
        ArgKind::Flags { ty, .. } => quote!(crate::ArgKind::Flags(#ty)),
        ArgKind::Ptr {
            dir,
            of,
            len,
            nullable,
            ..
        } => {
            let dir = match dir {
                Dir::In => quote!(crate::PtrDir::In),
                Dir::Out => quote!(crate::PtrDir::Out),
                Dir::InOut => quote!(crate::PtrDir::InOut),
            };
            let len = match len {
                Some(i) => {
                    let i = Literal::usize_unsuffixed(*i);
                    quote!(Some(#i))
                }
                None => quote!(None),
            };
            quote!(crate::ArgKind::Ptr { dir: #dir, of: #of, len: #len, nullable: #nullable })
        }
        ArgKind::Iovec { len, .. } => {
            let len = Literal::usize_unsuffixed(*len);
            quote!(crate::ArgKind::Iovec { len: #len })
        }
        ArgKind::Path { nullable } => quote!(crate::ArgKind::Path { nullable: #nullable }),
        ArgKind::CStr { nullable } => quote!(crate::ArgKind::CStr { nullable: #nullable }),
        ArgKind::CStrArray { nullable } => {
            quote!(crate::ArgKind::CStrArray { nullable: #nullable })
        }
        ArgKind::Raw => quote!(crate::ArgKind::Raw),
        ArgKind::Addr => quote!(crate::ArgKind::Addr),
    }
}

fn generate_numbers(spec: &Spec) -> TokenStream {
    let modules = ARCHES.iter().enumerate().map(|(slot, arch)| {
        let module = Ident::new(arch, Span::call_site());
        let consts = spec.entries.iter().filter_map(|entry| {
            let number = Literal::usize_unsuffixed(entry.nr[slot]? as usize);
            let id = info_ident(entry);
            Some(quote!(pub const #id: usize = #number;))
        });
        let doc = format!("Syscall numbers on {arch}.");
        quote! {
            #[doc = #doc]
            pub mod #module {
                #(#consts)*
            }
        }
    });
    quote! {
        /// Syscall numbers per architecture, named after the spec entries in
        /// upper case (`nr::aarch64::OPENAT`).
        pub mod nr {
            #(#modules)*
        }
    }
}

/// Rust type of an argument as the handler method receives it.
fn arg_type(arg: &Arg) -> TokenStream {
    let option = |nullable: bool, ty: TokenStream| {
        if nullable {
            quote!(::core::option::Option<#ty>)
        } else {
            ty
        }
    };
    match &arg.kind {
        ArgKind::Fd => quote!(crate::Fd),
        ArgKind::DirFd => quote!(crate::DirFd),
        ArgKind::MmapFd => quote!(crate::MmapFd),
        ArgKind::Int { rust, .. } => type_path(rust),
        ArgKind::Flags { ty, .. } => type_path(ty),
        ArgKind::Ptr {
            dir,
            of,
            len,
            nullable,
            ..
        } => {
            let ty = ptr_type(*dir, of, len.is_some());
            option(*nullable, ty)
        }
        ArgKind::Iovec { .. } => quote!(crate::Iovecs),
        ArgKind::Path { nullable } => option(*nullable, quote!(crate::UserPath)),
        ArgKind::CStr { nullable } => option(*nullable, quote!(crate::UserCStr)),
        ArgKind::CStrArray { nullable } => option(*nullable, quote!(crate::UserCStrArray)),
        ArgKind::Raw | ArgKind::Addr => quote!(usize),
    }
}

/// Pointer type without the `Option` of a nullable argument.
fn ptr_type(dir: Dir, of: &str, has_len: bool) -> TokenStream {
    let of_path = type_path(of);
    match (dir, has_len) {
        (Dir::In, false) => quote!(crate::UserIn<#of_path>),
        (Dir::Out, false) => quote!(crate::UserOut<#of_path>),
        (Dir::InOut, false) => quote!(crate::UserInOut<#of_path>),
        (Dir::In, true) => quote!(crate::UserInSlice<#of_path>),
        (Dir::Out, true) => quote!(crate::UserOutSlice<#of_path>),
        (Dir::InOut, true) => quote!(crate::UserInOutSlice<#of_path>),
    }
}

fn ret_type(entry: &Entry) -> TokenStream {
    match entry.ret.rust_type() {
        "Infallible" => quote!(::core::convert::Infallible),
        "()" => quote!(()),
        other => {
            let ident = Ident::new(other, Span::call_site());
            quote!(#ident)
        }
    }
}

fn method_doc(entry: &Entry) -> String {
    let params: Vec<String> = entry
        .args
        .iter()
        .map(|a| format!("{}: {}", a.name, a.spec_type(&entry.args)))
        .collect();
    let mut doc = format!(
        "`{}({})` -> {}. Level: {}.",
        entry.name,
        params.join(", "),
        entry.ret.as_str(),
        entry.level.as_str()
    );
    if !entry.errno.is_empty() {
        doc.push_str(&format!(" Errors: {}.", entry.errno.join(", ")));
    }
    if !entry.note.is_empty() {
        doc.push_str(&format!("\n\n{}", entry.note));
    }
    doc.push_str("\n\nThe default body logs one warning and returns `ENOSYS`.");
    doc
}

fn generate_traits(spec: &Spec) -> TokenStream {
    let traits = Family::ALL.iter().map(|family| {
        let trait_name = Ident::new(family.trait_name(), Span::call_site());
        let methods = spec
            .entries
            .iter()
            .filter(|e| e.family == *family)
            .map(|entry| {
                let method = method_ident(entry);
                let info = info_ident(entry);
                let names: Vec<Ident> = entry
                    .args
                    .iter()
                    .map(|a| Ident::new(&a.name, Span::call_site()))
                    .collect();
                let types = entry.args.iter().map(arg_type);
                let ret = ret_type(entry);
                let doc = method_doc(entry);
                quote! {
                    #[doc = #doc]
                    fn #method(&mut self #(, #names: #types)*) -> crate::SysResult<#ret> {
                        let _ = (#(#names,)*);
                        crate::stats::not_implemented(&crate::entries::#info)
                    }
                }
            });
        let doc = format!(
            "Handler methods of the `{}` family. Every method has a default body that returns `ENOSYS`.",
            family.as_str()
        );
        quote! {
            #[doc = #doc]
            pub trait #trait_name: crate::SyscallContext {
                #(#methods)*
            }
        }
    });
    let bounds: Vec<Ident> = Family::ALL
        .iter()
        .map(|f| Ident::new(f.trait_name(), Span::call_site()))
        .collect();
    quote! {
        #(#traits)*

        /// A complete syscall handler: implemented for every type that
        /// implements all five family traits.
        pub trait SyscallHandler: #(#bounds)+* {}

        impl<T: #(#bounds)+* + ?Sized> SyscallHandler for T {}
    }
}

fn generate_calls(spec: &Spec) -> TokenStream {
    let shims = spec.entries.iter().map(generate_call);
    quote!(#(#shims)*)
}

/// Generate the shim of one entry. Checks run in Linux's order: flags with `EINVAL`
/// for unknown bits first, then every `fd` argument, then pointers, iovecs
/// and paths in argument order.
fn generate_call(entry: &Entry) -> TokenStream {
    let shim = format_ident!("{}", entry.name);
    let info = info_ident(entry);
    let method = method_ident(entry);
    let family_trait = Ident::new(entry.family.trait_name(), Span::call_site());
    let ret = ret_type(entry);
    let handler = Ident::new("__handler", Span::call_site());
    let raw = Ident::new("__raw", Span::call_site());
    let names: Vec<Ident> = entry
        .args
        .iter()
        .map(|a| Ident::new(&a.name, Span::call_site()))
        .collect();

    let mut scalars = Vec::new();
    let mut flag_checks = Vec::new();
    let mut fd_checks = Vec::new();
    let mut pointers = Vec::new();

    for (i, arg) in entry.args.iter().enumerate() {
        let name = &names[i];
        let index = Literal::usize_unsuffixed(i);
        let value = quote!(#raw[#index]);
        let max_len = |max: &Option<u64>| match max {
            Some(m) => {
                let m = Literal::u64_unsuffixed(*m);
                quote!(Some(#m))
            }
            None => quote!(None),
        };
        match &arg.kind {
            ArgKind::Fd => {
                scalars.push(
                    quote!(let #name = <crate::Fd as crate::decode::FromArg>::from_arg(#value);),
                );
                fd_checks.push(quote!(#handler.check_fd(#name.raw())?;));
            }
            ArgKind::DirFd
            | ArgKind::MmapFd
            | ArgKind::Int { .. }
            | ArgKind::Raw
            | ArgKind::Addr => {
                let ty = arg_type(arg);
                scalars
                    .push(quote!(let #name = <#ty as crate::decode::FromArg>::from_arg(#value);));
            }
            ArgKind::Flags {
                ty,
                allow: Some(allow),
                ..
            } => {
                let ty = type_path(ty);
                let constants = allow.iter().map(|c| Ident::new(c, Span::call_site()));
                flag_checks.push(quote! {
                    let #name = crate::decode::flags_einval_within::<#ty>(
                        #value,
                        #ty::empty() #(| #ty::#constants)*,
                    )?;
                });
            }
            ArgKind::Flags { ty, unknown, .. } => {
                let ty = type_path(ty);
                match unknown {
                    Unknown::Ignore => scalars
                        .push(quote!(let #name = crate::decode::flags_ignore::<#ty>(#value);)),
                    Unknown::Keep => {
                        scalars.push(quote!(let #name = crate::decode::flags_keep::<#ty>(#value);))
                    }
                    Unknown::Einval => flag_checks
                        .push(quote!(let #name = crate::decode::flags_einval::<#ty>(#value)?;)),
                }
            }
            ArgKind::Ptr {
                dir,
                of,
                len,
                max_len: max,
                nullable,
            } => {
                let ty = ptr_type(*dir, of, len.is_some());
                let constructor = if *nullable {
                    quote!(new_nullable)
                } else {
                    quote!(new)
                };
                match len {
                    Some(j) => {
                        let len_name = &names[*j];
                        let max = max_len(max);
                        pointers.push(quote! {
                            let #name = <#ty>::#constructor(
                                #value,
                                crate::decode::len_arg(#len_name, #max)?,
                            )?;
                        });
                    }
                    None => pointers.push(quote!(let #name = <#ty>::#constructor(#value)?;)),
                }
            }
            ArgKind::Iovec { len, max_len: max } => {
                let len_name = &names[*len];
                let max = match max {
                    Some(m) => {
                        let m = Literal::u64_unsuffixed(*m);
                        quote!(#m)
                    }
                    None => quote!(crate::IOV_MAX),
                };
                pointers.push(quote! {
                    let #name = crate::Iovecs::read_in(
                        #handler.mem(),
                        #value,
                        crate::decode::len_arg(#len_name, None)?,
                        #max,
                    )?;
                });
            }
            ArgKind::Path { nullable } => {
                let constructor = if *nullable {
                    quote!(read_in_nullable)
                } else {
                    quote!(read_in)
                };
                pointers.push(
                    quote!(let #name = crate::UserPath::#constructor(#handler.mem(), #value)?;),
                );
            }
            ArgKind::CStr { nullable } | ArgKind::CStrArray { nullable } => {
                let ty = if matches!(arg.kind, ArgKind::CStr { .. }) {
                    quote!(crate::UserCStr)
                } else {
                    quote!(crate::UserCStrArray)
                };
                let constructor = if *nullable {
                    quote!(new_nullable)
                } else {
                    quote!(new)
                };
                pointers.push(quote!(let #name = #ty::#constructor(#value)?;));
            }
        }
    }

    let unused_raw = if entry.args.is_empty() {
        quote!(let _ = #raw;)
    } else {
        quote!()
    };

    // A stub's handler does not do the syscall's work, so warn once per run.
    let stub_warning = if matches!(entry.level, Level::Stub) {
        quote!(crate::stats::stub_called(&crate::entries::#info);)
    } else {
        quote!()
    };

    quote! {
        pub fn #shim<H: crate::#family_trait + ?Sized>(#handler: &mut H, #raw: [usize; 6]) -> isize {
            fn decode_and_call<H: crate::#family_trait + ?Sized>(
                #handler: &mut H,
                #raw: [usize; 6],
            ) -> crate::SysResult<#ret> {
                #unused_raw
                #(#scalars)*
                #(#flag_checks)*
                #(#fd_checks)*
                #(#pointers)*
                #handler.#method(#(#names),*)
            }
            crate::decode::trace_entry(&crate::entries::#info, &#raw);
            #stub_warning
            let result = decode_and_call(#handler, #raw);
            #[cfg(feature = "checked")]
            crate::trace::check_errno(&crate::entries::#info, result.as_ref().err(), |out| {
                crate::formats::#shim(#handler.mem(), &#raw, None, out)
            });
            crate::decode::finish(&crate::entries::#info, &#raw, result)
        }
    }
}

fn generate_arch_module(spec: &Spec, slot: usize, arch: &str) -> TokenStream {
    let module = Ident::new(arch, Span::call_site());
    let variant = arch_variant(arch);
    let mut numbered: Vec<(u32, &Entry)> = spec
        .entries
        .iter()
        .filter_map(|e| Some((e.nr[slot]?, e)))
        .collect();
    numbered.sort_by_key(|(n, _)| *n);
    let max_nr = numbered.last().map(|(n, _)| *n as usize).unwrap_or(0);
    let table_len = max_nr + 1;

    let mut table: Vec<TokenStream> = vec![quote!(None); table_len];
    for (number, entry) in &numbered {
        let id = info_ident(entry);
        table[*number as usize] = quote!(Some(&crate::entries::#id));
    }
    let arms = numbered.iter().map(|(number, entry)| {
        let number = Literal::usize_unsuffixed(*number as usize);
        let shim = format_ident!("{}", entry.name);
        quote!(#number => crate::calls::#shim(handler, args),)
    });
    let format_arms = crate::trace_codegen::format_arms(&numbered);
    let doc = format!("Dispatch and metadata for {arch} syscall numbers.");
    let table_doc = format!("Spec entries indexed by {arch} syscall number.");

    quote! {
        #[doc = #doc]
        pub mod #module {
            /// Architecture of this module.
            pub const ARCH: crate::Arch = crate::Arch::#variant;

            #[doc = #table_doc]
            pub static TABLE: [Option<&crate::SyscallInfo>; #table_len] = [#(#table),*];

            /// Decode `args`, run the checks of entry `nr` and call the
            /// handler method. Returns the value for `x0`: the result, or a
            /// negated errno. Unknown numbers return `-ENOSYS`.
            pub fn dispatch<H: crate::SyscallHandler + ?Sized>(
                handler: &mut H,
                nr: usize,
                args: [usize; 6],
            ) -> isize {
                match nr {
                    #(#arms)*
                    _ => crate::stats::unknown_syscall(ARCH, nr),
                }
            }

            /// Metadata of syscall number `nr`.
            pub fn info(nr: usize) -> Option<&'static crate::SyscallInfo> {
                TABLE.get(nr).copied().flatten()
            }

            /// Name of syscall number `nr`.
            pub fn syscall_name(nr: usize) -> Option<&'static str> {
                info(nr).map(|i| i.name)
            }

            /// Write call `nr` with raw arguments `raw` as strace shows it,
            /// `name(arg, ...)`, reading strings and structs from `mem`.
            /// `ret` is the value the call returned, or `None` before the
            /// call. Unknown numbers are written as `syscall_<nr>(...)`.
            pub fn format_call<M: crate::UserMemory>(
                mem: &M,
                nr: usize,
                raw: &[usize; 6],
                ret: ::core::option::Option<isize>,
                out: &mut dyn ::core::fmt::Write,
            ) -> ::core::fmt::Result {
                match nr {
                    #(#format_arms)*
                    _ => crate::trace::format::unknown_call(out, nr, raw),
                }
            }

            /// Build the strace line of call `nr`: the call, padded to column 40,
            /// then `= ` and the result (see [`format_call`]).
            pub fn trace_line<M: crate::UserMemory>(
                mem: &M,
                nr: usize,
                raw: &[usize; 6],
                ret: ::core::option::Option<isize>,
            ) -> ::alloc::string::String {
                crate::trace::format::line(info(nr).map(|i| i.ret), ret, |out| {
                    format_call(mem, nr, raw, ret, out)
                })
            }
        }
    }
}
