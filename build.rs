//! Generates the Rust client from `openapi/webhooks.yaml` into
//! `$OUT_DIR/sinch_api.rs`, included by `src/generated.rs`.
//!
//! Three parts are written, all derived from the spec:
//! 1. progenitor's types and builder-style client;
//! 2. open enums (`generated::enums`) for every string enum schema: progenitor
//!    only makes closed enums, and a response carrying a trigger newer than the
//!    crate must not fail to decode;
//! 3. `generated::spec`: constants for every limit the spec carries
//!    (`maxLength`, required lists and the `x-` extensions), which the
//!    validator uses instead of retyping them.
//!
//! A bad spec fails the build with one message naming the file and the
//! problem, never a panic backtrace.

use std::collections::BTreeMap;
use std::path::Path;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

// Shared with `cargo xtask codegen --check`.
#[path = "openapi/lint.rs"]
#[allow(dead_code)]
mod lint;

#[path = "build/keyed_union.rs"]
mod keyed_union;

use lint::variant_name;

const SPEC: &str = "openapi/webhooks.yaml";
/// Schemas holding a URL that Sinch calls (and that may carry a password).
const URL_SCHEMAS: &[&str] = &["WebhookTarget", "TokenEndpoint"];
/// Where the open enums live (they replace progenitor's closed ones).
const OPEN_ENUM_MODULE: &str = "crate::generated::enums";

fn main() {
    println!("cargo::rerun-if-changed={SPEC}");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=openapi/lint.rs");
    println!("cargo::rerun-if-changed=build/keyed_union.rs");
    if let Err(message) = run() {
        // One readable paragraph instead of a panic. `cargo::error` fails the
        // build by itself; exiting 0 keeps cargo from adding its own noise.
        println!("cargo::error={SPEC}: {}", message.replace('\n', " "));
    }
}

fn run() -> Result<(), String> {
    let text = std::fs::read_to_string(SPEC).map_err(|e| format!("cannot read the spec: {e}"))?;
    let raw: Value = serde_norway::from_str(&text).map_err(|e| format!("invalid YAML: {e}"))?;
    let problems = lint::generation_problems(&raw);
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let spec: openapiv3::OpenAPI = serde_json::from_value(raw.clone())
        .map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;

    let schemas = raw
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .ok_or("no components.schemas")?;
    let enums: BTreeMap<&str, Vec<String>> = schemas
        .iter()
        .filter_map(|(name, s)| string_enum(s).map(|values| (name.as_str(), values)))
        .collect();

    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Positional)
        .with_tag(progenitor::TagStyle::Merged)
        // Each request carries its own context (credentials, the response
        // status seen by the hooks); see `src/transport.rs`.
        .with_inner_type(quote!(crate::transport::RequestContext))
        .with_hooks(progenitor::HooksMode::Expected)
        .with_derive("PartialEq")
        .with_derive("schemars::JsonSchema");
    // Every `format: password` string becomes `crate::secret::Secret`, whose
    // `Debug` is redacted: generated `Debug` would print secrets in full.
    settings.with_conversion(
        schemars08::schema::SchemaObject {
            instance_type: Some(schemars08::schema::InstanceType::String.into()),
            format: Some("password".to_owned()),
            ..Default::default()
        },
        "crate::secret::Secret",
        [progenitor::TypeImpl::Display].into_iter(),
    );
    // Free-form objects (a conversation's `metadata_json`, a generic
    // event's `payload`, ...) stay as the JSON text received until asked
    // for: parsed into maps they take 20-25 times the body's size.
    settings.with_conversion(
        schemars08::schema::SchemaObject {
            instance_type: Some(schemars08::schema::InstanceType::Object.into()),
            ..Default::default()
        },
        "crate::events::RawJson",
        std::iter::empty(),
    );
    // URLs Sinch calls become `crate::target::TargetUrl`, whose `Debug`
    // and `Display` hide a userinfo password: generated `Debug` would print
    // it. (Their limits are checked by the validator, from the spec.)
    for name in URL_SCHEMAS {
        settings.with_replacement(
            *name,
            "crate::target::TargetUrl",
            [
                progenitor::TypeImpl::Display,
                progenitor::TypeImpl::FromStr,
                progenitor::TypeImpl::Default,
            ]
            .into_iter(),
        );
    }
    for name in enums.keys() {
        settings.with_replacement(
            *name,
            format!("{OPEN_ENUM_MODULE}::{name}"),
            [progenitor::TypeImpl::Display, progenitor::TypeImpl::FromStr].into_iter(),
        );
    }
    let enum_names = enums.keys().copied().collect();
    let unions = keyed_union::read(schemas, &enum_names);
    for union in &unions {
        settings.with_replacement(
            union.name(),
            format!("{}::{}", keyed_union::MODULE, union.name()),
            std::iter::empty(),
        );
    }
    let client = progenitor::Generator::new(&settings)
        .generate_tokens(&spec)
        .map_err(|e| format!("progenitor could not generate the client: {e}"))?;

    // Enums that callback events use are public under `events`.
    let in_events = keyed_union::reachable(schemas);
    let enum_items = enums.iter().map(|(name, values)| {
        let description = schemas[*name].get("description").and_then(Value::as_str);
        let module = if in_events.contains(*name) {
            "sinch_conversation::events"
        } else {
            "sinch_conversation"
        };
        open_enum(name, module, description, values)
    });
    let union_items = unions.iter().map(keyed_union::generate);
    let callback_types = keyed_union::reexports(schemas, &enum_names, &in_events);
    let constants = spec_constants(schemas)?;
    let version = spec.info.version.as_str();
    let file = quote! {
        #client

        /// Open enums generated from the spec's string enums.
        ///
        /// Each has one variant per value the spec lists and `Unknown(String)`
        /// for anything else, so a value Sinch adds later decodes, compares and
        /// serialises back unchanged instead of failing the whole response.
        pub mod enums {
            #(#enum_items)*
        }

        /// Schemas with `x-keyed-union` (the callback envelope and the
        /// content unions): a struct with the shared fields and an enum with
        /// a variant per identifying key, `Unknown` for any other key.
        pub mod events {
            #(#union_items)*
        }

        /// Every type a callback event is made of, for `crate::events`.
        pub mod callback_types {
            #callback_types
        }

        /// Limits and facts read from the spec at build time.
        pub mod spec {
            /// `info.version` of the spec.
            pub const API_VERSION: &str = #version;
            #constants
        }
    };
    let mut syntax: syn::File =
        syn::parse2(file).map_err(|e| format!("generated code does not parse: {e}"))?;
    syn::visit_mut::VisitMut::visit_file_mut(&mut GateSchemars, &mut syntax);
    syn::visit_mut::VisitMut::visit_file_mut(&mut DropApiVersionHeader, &mut syntax);
    syn::visit_mut::VisitMut::visit_file_mut(&mut LinkBareUrls, &mut syntax);
    let extras = &mut FieldExtras {
        schemas,
        in_events: &in_events,
    };
    syn::visit_mut::VisitMut::visit_file_mut(extras, &mut syntax);
    let code = format!(
        "// @generated by build.rs from {SPEC}. Do not edit: change the spec and run `cargo xtask codegen`.\n\n{}",
        prettyplease::unparse(&syntax)
    );
    let out = std::env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?;
    let path = Path::new(&out).join("sinch_api.rs");
    // Leave the file alone when nothing changed, so dependents are not rebuilt.
    if std::fs::read_to_string(&path).ok().as_deref() != Some(code.as_str()) {
        std::fs::write(&path, code).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn string_enum(schema: &Value) -> Option<Vec<String>> {
    if schema.get("type").and_then(Value::as_str) != Some("string") {
        return None;
    }
    let values = schema.get("enum")?.as_array()?;
    values
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// `ClientCredentials` → `CLIENT_CREDENTIALS`.
fn screaming(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push('_');
        }
    }
    out
}

fn open_enum(
    name: &str,
    module: &str,
    description: Option<&str>,
    values: &[String],
) -> TokenStream {
    let ident = format_ident!("{name}");
    let doc = description.unwrap_or(name);
    // A value named like the catch-all (ReasonCode's `UNKNOWN`) gets a
    // suffix: `Unknown(String)` stays the one for values the spec lacks.
    let variants: Vec<_> = values
        .iter()
        .map(|v| match variant_name(v) {
            name if name == "Unknown" => format_ident!("UnknownValue"),
            name => format_ident!("{name}"),
        })
        .collect();
    let variant_docs = values.iter().map(|v| format!("`{v}`"));
    let first = &variants[0];
    let example_value = &values[0];
    let example = format!(
        "```\nuse {module}::{name};\n\nlet known: {name} = \"{example_value}\".parse().unwrap();\nassert_eq!(known, {name}::{first});\nlet newer = {name}::from(\"SOMETHING_NEWER\");\nassert_eq!(newer, {name}::Unknown(\"SOMETHING_NEWER\".into()));\nassert_eq!(newer.as_str(), \"SOMETHING_NEWER\");\n```"
    );
    quote! {
        #[doc = #doc]
        ///
        /// Values this crate does not know decode to `Unknown` and serialise
        /// back unchanged. Build values with `From<&str>`/`parse` rather than
        /// writing `Unknown(..)` yourself, so known values get their variant.
        ///
        #[doc = #example]
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum #ident {
            #(
                #[doc = #variant_docs]
                #variants,
            )*
            /// A value this version of the crate does not know, kept verbatim.
            Unknown(::std::string::String),
        }

        impl #ident {
            /// Every value the spec lists, in the spec's order.
            pub const KNOWN: &'static [Self] = &[#(Self::#variants),*];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    #(Self::#variants => #values,)*
                    Self::Unknown(other) => other.as_str(),
                }
            }

            /// `false` for [`Self::Unknown`].
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl ::std::convert::From<&str> for #ident {
            fn from(value: &str) -> Self {
                match value {
                    #(#values => Self::#variants,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl ::std::convert::From<::std::string::String> for #ident {
            fn from(value: ::std::string::String) -> Self {
                match Self::from(value.as_str()) {
                    Self::Unknown(_) => Self::Unknown(value),
                    known => known,
                }
            }
        }

        impl ::std::str::FromStr for #ident {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl ::std::fmt::Display for #ident {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for #ident {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #ident {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                // Known values are matched on the borrowed text: no allocation.
                struct Visitor;
                impl<'de> ::serde::de::Visitor<'de> for Visitor {
                    type Value = #ident;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: ::serde::de::Error>(self, value: &str) -> ::std::result::Result<#ident, E> {
                        Ok(#ident::from(value))
                    }
                    fn visit_string<E: ::serde::de::Error>(self, value: ::std::string::String) -> ::std::result::Result<#ident, E> {
                        Ok(#ident::from(value))
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }

        #[cfg(feature = "schemars")]
        impl ::schemars::JsonSchema for #ident {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                #name.into()
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                ::schemars::json_schema!({
                    "type": "string",
                    "description": #doc,
                    "enum": [#(#values),*],
                })
            }
        }
    }
}

/// Constants for each limit in `components.schemas`, named
/// `<SCHEMA>[_<PROPERTY>]_<KEYWORD>`.
fn spec_constants(schemas: &serde_json::Map<String, Value>) -> Result<TokenStream, String> {
    let mut items = Vec::new();
    let mut password_fields: Vec<&str> = schemas
        .values()
        .filter_map(|s| s.get("properties").and_then(Value::as_object))
        .flat_map(|props| props.iter())
        .filter(|(_, p)| p.get("format").and_then(Value::as_str) == Some("password"))
        .map(|(name, _)| name.as_str())
        .collect();
    password_fields.sort_unstable();
    password_fields.dedup();
    items.push(quote! {
        /// Property names with `format: password`: secrets to redact.
        pub const PASSWORD_FIELDS: &[&str] = &[#(#password_fields),*];
    });
    for (schema_name, schema) in schemas {
        let mut places = vec![(screaming(schema_name), schema_name.clone(), schema)];
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            let ident = format_ident!("{}_REQUIRED", screaming(schema_name));
            let fields: Vec<&str> = required.iter().filter_map(Value::as_str).collect();
            let doc = format!("`required` of `{schema_name}`.");
            items.push(quote!(#[doc = #doc] pub const #ident: &[&str] = &[#(#fields),*];));
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            let ident = format_ident!("{}_PROPERTIES", screaming(schema_name));
            let names = props.keys().map(String::as_str);
            let doc = format!("The properties of `{schema_name}`, sorted by name.");
            items.push(quote!(#[doc = #doc] pub const #ident: &[&str] = &[#(#names),*];));
            for (prop, prop_schema) in props {
                places.push((
                    format!("{}_{}", screaming(schema_name), prop.to_uppercase()),
                    format!("{schema_name}.{prop}"),
                    prop_schema,
                ));
            }
        }
        for (prefix, place, s) in places {
            if let Some(n) = s.get("maxLength").and_then(Value::as_u64) {
                let ident = format_ident!("{prefix}_MAX_LENGTH");
                let n = n as usize;
                let doc = format!("`maxLength` of `{place}` (in characters).");
                items.push(quote!(#[doc = #doc] pub const #ident: usize = #n;));
            }
            if let Some(list) = s.get("x-forbidden-host-patterns") {
                let patterns = strings(list, place.as_str(), "x-forbidden-host-patterns")?;
                let ident = format_ident!("{prefix}_FORBIDDEN_HOST_PATTERNS");
                let doc = format!(
                    "`x-forbidden-host-patterns` of `{place}`: `*` stands for one DNS label."
                );
                items.push(quote!(#[doc = #doc] pub const #ident: &[&str] = &[#(#patterns),*];));
            }
            if let Some(list) = s.get("x-refused-values") {
                let values = strings(list, place.as_str(), "x-refused-values")?;
                let ident = format_ident!("{prefix}_REFUSED_VALUES");
                let doc =
                    format!("`x-refused-values` of `{place}`: listed values that cause errors.");
                items.push(quote!(#[doc = #doc] pub const #ident: &[&str] = &[#(#values),*];));
            }
            if let Some(v) = s.get("x-server-default") {
                let v = v
                    .as_str()
                    .ok_or_else(|| format!("{place}: x-server-default must be a string"))?;
                let ident = format_ident!("{prefix}_SERVER_DEFAULT");
                let doc = format!(
                    "`x-server-default` of `{place}`: what Sinch assumes when it is omitted."
                );
                items.push(quote!(#[doc = #doc] pub const #ident: &str = #v;));
            }
            if let Some(range) = s.get("x-expires-in-range") {
                let pair = range
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_u64).collect::<Vec<_>>());
                let Some([min, max]) = pair.as_deref() else {
                    return Err(format!(
                        "{place}: x-expires-in-range must be [min, max] in seconds"
                    ));
                };
                let ident = format_ident!("{prefix}_EXPIRES_IN_RANGE");
                let doc = format!("`x-expires-in-range` of `{place}`: seconds, inclusive.");
                items.push(quote!(#[doc = #doc] pub const #ident: (u64, u64) = (#min, #max);));
            }
        }
    }
    Ok(quote!(#(#items)*))
}

fn strings(list: &Value, place: &str, keyword: &str) -> Result<Vec<String>, String> {
    list.as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| format!("{place}: {keyword} must be a list of strings"))
}

/// Moves `schemars::JsonSchema` out of each `#[derive(..)]` into
/// `#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]`, so that
/// users who do not need JSON Schema do not compile schemars.
struct GateSchemars;

impl GateSchemars {
    fn gate(attrs: &mut Vec<syn::Attribute>) {
        use syn::punctuated::Punctuated;
        let mut gated = false;
        for attr in attrs.iter_mut() {
            if !attr.path().is_ident("derive") {
                continue;
            }
            let Ok(paths) =
                attr.parse_args_with(Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
            else {
                continue;
            };
            let kept: Vec<&syn::Path> = paths
                .iter()
                .filter(|p| p.segments.last().is_none_or(|s| s.ident != "JsonSchema"))
                .collect();
            if kept.len() != paths.len() {
                gated = true;
                *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
            }
        }
        if gated {
            attrs.push(
                syn::parse_quote!(#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]),
            );
        }
    }
}

impl syn::visit_mut::VisitMut for GateSchemars {
    fn visit_item_struct_mut(&mut self, item: &mut syn::ItemStruct) {
        Self::gate(&mut item.attrs);
        syn::visit_mut::visit_item_struct_mut(self, item);
    }

    fn visit_item_enum_mut(&mut self, item: &mut syn::ItemEnum) {
        Self::gate(&mut item.attrs);
        syn::visit_mut::visit_item_enum_mut(self, item);
    }
}

/// Wraps bare URLs in doc comments in `<…>`: Sinch's descriptions carry
/// some ("see http://www.unicode.org/…"), and rustdoc's `-D warnings`
/// refuses a URL that is not a hyperlink. Code blocks are left alone.
struct LinkBareUrls;

impl LinkBareUrls {
    fn link(text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 8);
        let mut in_code = false;
        for (n, line) in text.split('\n').enumerate() {
            if n > 0 {
                out.push('\n');
            }
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
            }
            if in_code {
                out.push_str(line);
                continue;
            }
            let mut rest = line;
            while let Some(at) = rest
                .find("http://")
                .into_iter()
                .chain(rest.find("https://"))
                .min()
            {
                let before = rest[..at].chars().last();
                let len = rest[at..]
                    .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '`' | '"'))
                    .unwrap_or(rest.len() - at);
                let mut url = &rest[at..at + len];
                url = url.trim_end_matches(['.', ',', ';', ':', ')', '\'']);
                out.push_str(&rest[..at]);
                if matches!(before, Some('<' | '(' | '`' | '"' | '[')) {
                    out.push_str(url);
                } else {
                    out.push('<');
                    out.push_str(url);
                    out.push('>');
                }
                rest = &rest[at + url.len()..];
            }
            out.push_str(rest);
        }
        out
    }
}

impl syn::visit_mut::VisitMut for LinkBareUrls {
    fn visit_attribute_mut(&mut self, attr: &mut syn::Attribute) {
        if let syn::Meta::NameValue(doc) = &mut attr.meta
            && doc.path.is_ident("doc")
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) = &mut doc.value
            && text.value().contains("://")
        {
            *text = syn::LitStr::new(&Self::link(&text.value()), text.span());
        }
    }
}

/// Removes the `api-version: <info.version>` header progenitor 0.15 adds to
/// every request (Sinch has no such header), and the header map that then
/// stays empty, so no request allocates, fills and merges it only to have
/// the header taken out again. `tests/client.rs` checks the wire.
struct DropApiVersionHeader;

impl DropApiVersionHeader {
    fn is_api_version_append(stmt: &syn::Stmt) -> bool {
        let syn::Stmt::Expr(syn::Expr::MethodCall(call), Some(_)) = stmt else {
            return false;
        };
        call.method == "append"
            && call
                .args
                .first()
                .is_some_and(|name| quote!(#name).to_string().contains("\"api-version\""))
    }
}

impl syn::visit_mut::VisitMut for DropApiVersionHeader {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        syn::visit_mut::visit_block_mut(self, block);
        let before = block.stmts.len();
        block
            .stmts
            .retain(|stmt| !Self::is_api_version_append(stmt));
        if block.stmts.len() == before {
            return;
        }
        let appends_left = block
            .stmts
            .iter()
            .any(|stmt| quote!(#stmt).to_string().contains("header_map . append"));
        if appends_left {
            return;
        }
        for stmt in &mut block.stmts {
            if let syn::Stmt::Local(local) = stmt
                && let syn::Pat::Ident(binding) = &mut local.pat
                && binding.ident == "header_map"
                && let Some(init) = &mut local.init
            {
                binding.mutability = None;
                *init.expr = syn::parse_quote!(::reqwest::header::HeaderMap::new());
            }
        }
    }
}

/// Adds to progenitor's structs what typify does not take from the spec:
/// `#[serde(alias)]` for each `x-aliases` spelling, and a doc comment for
/// `$ref` fields (typify documents only the referenced type), taken from
/// the referenced schema.
struct FieldExtras<'a> {
    schemas: &'a serde_json::Map<String, Value>,
    /// The callback events' schemas, whose list and map fields also read
    /// `null` as empty (typify's `default` covers only a missing field).
    in_events: &'a std::collections::BTreeSet<String>,
}

impl FieldExtras<'_> {
    fn is_collection(ty: &syn::Type) -> bool {
        let syn::Type::Path(path) = ty else {
            return false;
        };
        path.path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Vec" || s.ident == "Map")
    }
}

impl FieldExtras<'_> {
    /// `#[doc(alias)]` for each of a schema's `x-doc-aliases` (other names
    /// users search for, e.g. Sinch's newer "event destination").
    fn add_doc_aliases(&self, ident: &syn::Ident, attrs: &mut Vec<syn::Attribute>) {
        let aliases = self
            .schemas
            .get(&ident.to_string())
            .and_then(|s| s.get("x-doc-aliases"))
            .and_then(Value::as_array);
        for alias in aliases.into_iter().flatten().filter_map(Value::as_str) {
            attrs.push(syn::parse_quote!(#[doc(alias = #alias)]));
        }
    }

    fn serde_name(field: &syn::Field) -> Option<String> {
        for attr in &field.attrs {
            if !attr.path().is_ident("serde") {
                continue;
            }
            let mut renamed = None;
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    let value: syn::LitStr = meta.value()?.parse()?;
                    renamed = Some(value.value());
                } else if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
                Ok(())
            });
            if renamed.is_some() {
                return renamed;
            }
        }
        field
            .ident
            .as_ref()
            .map(|i| i.to_string().trim_start_matches("r#").to_owned())
    }
}

impl syn::visit_mut::VisitMut for FieldExtras<'_> {
    /// A `oneOf` becomes an untagged enum whose variants typify leaves
    /// undocumented: each gets its alternative's description, found by the
    /// alternative's `title` (which typify names the variant after).
    fn visit_item_enum_mut(&mut self, item: &mut syn::ItemEnum) {
        self.add_doc_aliases(&item.ident, &mut item.attrs);
        let alternatives = self
            .schemas
            .get(&item.ident.to_string())
            .and_then(|s| s.get("oneOf"))
            .and_then(Value::as_array);
        let Some(alternatives) = alternatives else {
            return;
        };
        for variant in item.variants.iter_mut() {
            if variant.attrs.iter().any(|a| a.path().is_ident("doc")) {
                continue;
            }
            let name = variant.ident.to_string();
            let doc = alternatives
                .iter()
                .find(|a| a.get("title").and_then(Value::as_str) == Some(name.as_str()))
                .and_then(|a| a.get("description"))
                .and_then(Value::as_str);
            if let Some(doc) = doc {
                variant.attrs.insert(0, syn::parse_quote!(#[doc = #doc]));
            }
        }
    }

    fn visit_item_struct_mut(&mut self, item: &mut syn::ItemStruct) {
        self.add_doc_aliases(&item.ident, &mut item.attrs);
        let properties = self
            .schemas
            .get(&item.ident.to_string())
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object);
        let Some(properties) = properties else {
            return;
        };
        for field in item.fields.iter_mut() {
            let Some(property) = Self::serde_name(field).and_then(|n| properties.get(&n)) else {
                continue;
            };
            if let Some(aliases) = property.get("x-aliases").and_then(Value::as_array) {
                for alias in aliases.iter().filter_map(Value::as_str) {
                    field
                        .attrs
                        .push(syn::parse_quote!(#[serde(alias = #alias)]));
                }
            }
            if self.in_events.contains(&item.ident.to_string()) && Self::is_collection(&field.ty) {
                field.attrs.push(syn::parse_quote!(
                    #[serde(deserialize_with = "crate::events::de::null_as_default")]
                ));
            }
            let documented = field.attrs.iter().any(|a| a.path().is_ident("doc"));
            let referenced = keyed_union::ref_name(property)
                .and_then(|t| self.schemas.get(t))
                .and_then(|s| s.get("description"))
                .and_then(Value::as_str);
            if let (false, Some(doc)) = (documented, referenced) {
                field.attrs.insert(0, syn::parse_quote!(#[doc = #doc]));
            }
        }
    }
}
