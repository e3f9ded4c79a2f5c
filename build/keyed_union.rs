//! Schemas with `x-keyed-union`: a JSON object holding some shared fields
//! and exactly one more key that says what the object is (the callback
//! envelope, whose key names the trigger; a contact message, whose key names
//! the kind of content).
//!
//! Each becomes a struct with the shared fields and one field holding an
//! enum with a variant per listed key, plus `Unknown` for any other key, so
//! that a key Sinch adds later parses instead of failing. typify cannot
//! express that (its enums are closed, and `flatten` buffers the whole
//! object), so the code is generated here; the helpers it calls live in
//! `src/events/de.rs`. The shapes it accepts are checked beforehand by the
//! spec lint (`openapi/lint.rs`, `keyed_union_problems`).

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::{Map, Value};

/// Where the generated unions live; replacement paths point here.
pub const MODULE: &str = "crate::generated::events";

/// What one `x-keyed-union` schema says, checked.
pub struct Union {
    name: String,
    description: String,
    enum_name: String,
    enum_description: String,
    field: String,
    shared: Vec<Shared>,
    variants: Vec<Variant>,
    triggers: bool,
    /// The key may be absent (`x-keyed-union.optional: true`): the field is
    /// an `Option`.
    optional: bool,
}

struct Shared {
    name: String,
    ty: TokenStream,
    required: bool,
    doc: String,
}

struct Variant {
    key: String,
    ident: String,
    payload: TokenStream,
    doc: String,
}

impl Union {
    /// The schema name (replaced in progenitor's output by this type).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The names of the schemas that carry `x-keyed-union`.
pub fn names(schemas: &Map<String, Value>) -> BTreeSet<String> {
    schemas
        .iter()
        .filter(|(_, s)| s.get("x-keyed-union").is_some())
        .map(|(name, _)| name.clone())
        .collect()
}

/// Reads every `x-keyed-union` schema. `enums` are the open-enum schema
/// names. The shapes were checked by the lint (`openapi/lint.rs`,
/// `keyed_union_problems`), which build.rs runs first.
pub fn read(schemas: &Map<String, Value>, enums: &BTreeSet<&str>) -> Vec<Union> {
    let unions = names(schemas);
    let types = Types {
        schemas,
        enums,
        unions: &unions,
    };
    let mut out = Vec::new();
    for (name, schema) in schemas.iter().filter(|(n, _)| unions.contains(*n)) {
        let ext = &schema["x-keyed-union"];
        let text = |key: &str| ext[key].as_str().unwrap_or_default().to_owned();
        let by_trigger = ext.get("triggers").and_then(Value::as_object);
        let keys: Vec<(String, String)> = match by_trigger {
            Some(map) => map
                .iter()
                .map(|(key, t)| (key.clone(), t.as_str().unwrap_or_default().to_owned()))
                .collect(),
            None => ext["keys"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|k| (k.to_owned(), k.to_owned()))
                .collect(),
        };
        let empty = Map::new();
        let properties = schema["properties"].as_object().unwrap_or(&empty);
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let variants = keys
            .iter()
            .map(|(key, variant)| {
                let property = properties.get(key).unwrap_or(&Value::Null);
                let target = ref_name(property).unwrap_or_default();
                let doc = match by_trigger {
                    Some(_) => format!("`{variant}`: the `{key}` key holds a `{target}`."),
                    None => format!("The `{key}` key: a `{target}`."),
                };
                Variant {
                    key: key.clone(),
                    ident: super::variant_name(variant),
                    payload: types.of(property),
                    doc,
                }
            })
            .collect();
        let shared = properties
            .iter()
            .filter(|(prop, _)| !keys.iter().any(|(k, _)| k == *prop))
            .map(|(prop, prop_schema)| Shared {
                name: prop.clone(),
                ty: types.of(prop_schema),
                required: required.contains(&prop.as_str()),
                doc: types.doc(prop_schema),
            })
            .collect();
        let description = schema["description"].as_str().unwrap_or(name).to_owned();
        let enum_description = match by_trigger {
            Some(_) => format!(
                "What a [`{name}`] is about: one variant per trigger, named after the trigger, holding the payload under the trigger's identifying key."
            ),
            None => format!(
                "What a [`{name}`] holds: one variant per key listed in the spec, holding the payload under that key."
            ),
        };
        out.push(Union {
            name: name.clone(),
            description,
            enum_name: text("enum"),
            enum_description,
            field: text("field"),
            shared,
            variants,
            triggers: by_trigger.is_some(),
            optional: ext.get("optional").and_then(Value::as_bool) == Some(true),
        });
    }
    out
}

/// `Name` of a `$ref: "#/components/schemas/Name"`.
pub fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

struct Types<'a> {
    schemas: &'a Map<String, Value>,
    enums: &'a BTreeSet<&'a str>,
    unions: &'a BTreeSet<String>,
}

impl Types<'_> {
    /// The Rust type of a property of a keyed union (the shapes the lint
    /// allows: a `$ref`, a string, a date-time, a boolean).
    fn of(&self, schema: &Value) -> TokenStream {
        if let Some(target) = ref_name(schema) {
            let ident = format_ident!("{target}");
            return if self.unions.contains(target) {
                quote!(crate::generated::events::#ident)
            } else if self.enums.contains(target) {
                quote!(crate::generated::enums::#ident)
            } else {
                quote!(crate::generated::types::#ident)
            };
        }
        match (schema["type"].as_str(), schema["format"].as_str()) {
            (Some("string"), Some("date-time")) => {
                quote!(::chrono::DateTime<::chrono::offset::Utc>)
            }
            (Some("boolean"), _) => quote!(bool),
            _ => quote!(::std::string::String),
        }
    }

    /// A property's description, or its referenced schema's.
    fn doc(&self, schema: &Value) -> String {
        let described = |s: &Value| {
            s.get("description")
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        described(schema)
            .or_else(|| {
                ref_name(schema)
                    .and_then(|t| self.schemas.get(t))
                    .and_then(described)
            })
            .unwrap_or_default()
    }
}

/// The struct, the enum and their serde (and schemars) impls.
pub fn generate(u: &Union) -> TokenStream {
    let name = format_ident!("{}", u.name);
    let name_str = u.name.as_str();
    let enum_ident = format_ident!("{}", u.enum_name);
    let field = format_ident!("{}", u.field);
    let description = &u.description;
    let enum_description = &u.enum_description;

    let shared_names: Vec<&str> = u.shared.iter().map(|s| s.name.as_str()).collect();
    let shared_idents: Vec<_> = u
        .shared
        .iter()
        .map(|s| format_ident!("{}", s.name))
        .collect();
    let shared_inner: Vec<&TokenStream> = u.shared.iter().map(|s| &s.ty).collect();
    // A field's type, and what one occurrence of it is read as.
    let shared_types: Vec<TokenStream> = u
        .shared
        .iter()
        .map(|s| {
            let ty = &s.ty;
            if s.required {
                quote!(#ty)
            } else {
                quote!(::std::option::Option<#ty>)
            }
        })
        .collect();
    let shared_docs = u.shared.iter().map(|s| {
        let missing = if s.required {
            ""
        } else {
            " `None` when absent."
        };
        format!("`{}`: {}{missing}", s.name, s.doc)
    });
    let finish_shared = u.shared.iter().map(|s| {
        let ident = format_ident!("{}", s.name);
        let key = s.name.as_str();
        if s.required {
            quote!(let #ident = #ident.ok_or_else(|| <A::Error as ::serde::de::Error>::missing_field(#key))?;)
        } else {
            // `null` reads as absent, as in typify's structs.
            quote!(let #ident = #ident.flatten();)
        }
    });
    let serialize_shared = u.shared.iter().map(|s| {
        let ident = format_ident!("{}", s.name);
        let key = s.name.as_str();
        if s.required {
            quote!(map.serialize_entry(#key, &self.#ident)?;)
        } else {
            quote!(if let Some(value) = &self.#ident { map.serialize_entry(#key, value)?; })
        }
    });
    let required: Vec<&str> = u
        .shared
        .iter()
        .filter(|s| s.required)
        .map(|s| s.name.as_str())
        .collect();

    let keys: Vec<&str> = u.variants.iter().map(|v| v.key.as_str()).collect();
    let variants: Vec<_> = u
        .variants
        .iter()
        .map(|v| format_ident!("{}", v.ident))
        .collect();
    let payloads: Vec<&TokenStream> = u.variants.iter().map(|v| &v.payload).collect();
    let variant_docs = u.variants.iter().map(|v| v.doc.as_str());
    let field_doc = if u.optional {
        format!(
            "What this is, by its identifying key: see [`{}`]. `None` when no key is present (the spec allows that here).",
            u.enum_name
        )
    } else {
        format!(
            "What this is, by its identifying key: see [`{}`].",
            u.enum_name
        )
    };
    let field_type = if u.optional {
        quote!(::std::option::Option<#enum_ident>)
    } else {
        quote!(#enum_ident)
    };
    let finish = if u.optional {
        quote!(finish_optional)
    } else {
        quote!(finish)
    };
    let serialize_field = if u.optional {
        quote! {
            match &self.#field {
                #(Some(#enum_ident::#variants(payload)) => map.serialize_entry(#keys, payload)?,)*
                Some(#enum_ident::Unknown(unknown)) => map.serialize_entry(&unknown.key, &unknown.json)?,
                None => {}
            }
        }
    } else {
        quote! {
            match &self.#field {
                #(#enum_ident::#variants(payload) => map.serialize_entry(#keys, payload)?,)*
                #enum_ident::Unknown(unknown) => map.serialize_entry(&unknown.key, &unknown.json)?,
            }
        }
    };
    let expecting = format!(
        "a JSON object with one of the keys {}",
        keys.iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let trigger_items = if u.triggers {
        let triggers: Vec<_> = u
            .variants
            .iter()
            .map(|v| format_ident!("{}", v.ident))
            .collect();
        quote! {
            /// The trigger that fired, or `None` for [`Self::Unknown`] (a key
            /// this version of the crate does not know; its trigger cannot be
            /// told from the key).
            pub fn trigger(&self) -> ::std::option::Option<crate::WebhookTrigger> {
                match self {
                    #(Self::#variants(_) => Some(crate::WebhookTrigger::#triggers),)*
                    Self::Unknown(_) => None,
                }
            }

            /// The identifying key of the events of `trigger`, if the spec
            /// names one.
            pub fn key_of(trigger: &crate::WebhookTrigger) -> ::std::option::Option<&'static str> {
                match trigger {
                    #(crate::WebhookTrigger::#triggers => Some(#keys),)*
                    _ => None,
                }
            }
        }
    } else {
        quote!()
    };

    quote! {
        #[doc = #description]
        #[derive(Clone, Debug, PartialEq)]
        pub struct #name {
            #(
                #[doc = #shared_docs]
                pub #shared_idents: #shared_types,
            )*
            #[doc = #field_doc]
            pub #field: #field_type,
        }

        #[doc = #enum_description]
        ///
        /// A key this version of the crate does not know is not an error: it
        /// is [`Self::Unknown`], with the key and its JSON as received.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum #enum_ident {
            #(
                #[doc = #variant_docs]
                #variants(#payloads),
            )*
            /// A key this version of the crate does not know, with its JSON
            /// exactly as received.
            Unknown(crate::events::UnknownKey),
        }

        impl #enum_ident {
            /// The identifying keys this version of the crate knows.
            pub const KEYS: &'static [&'static str] = &[#(#keys),*];

            /// The identifying key this came under.
            pub fn key(&self) -> &str {
                match self {
                    #(Self::#variants(_) => #keys,)*
                    Self::Unknown(unknown) => unknown.key.as_str(),
                }
            }

            /// `false` for [`Self::Unknown`].
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }

            #trigger_items
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                struct Visitor;
                impl<'de> ::serde::de::Visitor<'de> for Visitor {
                    type Value = #name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(#expecting)
                    }
                    fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> ::std::result::Result<#name, A::Error> {
                        #(let mut #shared_idents: ::std::option::Option<#shared_types> = None;)*
                        let mut found = crate::events::de::Found::<#enum_ident>::default();
                        while let Some(key) = map.next_key::<crate::events::de::Key<'de>>()? {
                            match key.as_str() {
                                #(#shared_names => crate::events::de::once::<_, A::Error>(&mut #shared_idents, #shared_names, map.next_value()?)?,)*
                                // `null` under a key reads as the key being absent.
                                #(#keys => if let Some(payload) = map.next_value::<::std::option::Option<#payloads>>()? {
                                    found.known::<A::Error>(#keys, #enum_ident::#variants(payload))?
                                },)*
                                _ => found.other(&mut map, key)?,
                            }
                        }
                        #(#finish_shared)*
                        let #field = found.#finish::<A::Error>(#enum_ident::KEYS, #enum_ident::Unknown)?;
                        Ok(#name { #(#shared_idents,)* #field })
                    }
                }
                deserializer.deserialize_map(Visitor)
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(None)?;
                #(#serialize_shared)*
                #serialize_field
                map.end()
            }
        }

        #[cfg(feature = "schemars")]
        impl ::schemars::JsonSchema for #name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                #name_str.into()
            }

            fn json_schema(generator: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                let mut properties = ::serde_json::Map::new();
                #(properties.insert(#shared_names.to_owned(), generator.subschema_for::<#shared_inner>().to_value());)*
                #(properties.insert(#keys.to_owned(), generator.subschema_for::<#payloads>().to_value());)*
                ::schemars::json_schema!({
                    "type": "object",
                    "description": #description,
                    "properties": properties,
                    "required": [#(#required),*],
                })
            }
        }
    }
}

/// `pub use` of every schema reachable from the keyed unions (payloads,
/// their parts, their enums), so that `sinch_conversation::events` offers
/// each type a new trigger brings without a handwritten change.
pub fn reexports(
    schemas: &Map<String, Value>,
    enums: &BTreeSet<&str>,
    reachable: &BTreeSet<String>,
) -> TokenStream {
    let unions = names(schemas);
    let items = reachable.iter().map(|name| {
        let ident = format_ident!("{name}");
        if unions.contains(name) {
            quote!(pub use super::events::#ident;)
        } else if enums.contains(name.as_str()) {
            quote!(pub use super::enums::#ident;)
        } else {
            quote!(pub use super::types::#ident;)
        }
    });
    let enum_reexports = unions.iter().filter_map(|name| {
        let ext = schemas.get(name)?.get("x-keyed-union")?;
        let ident = format_ident!("{}", ext.get("enum")?.as_str()?);
        Some(quote!(pub use super::events::#ident;))
    });
    quote!(#(#items)* #(#enum_reexports)*)
}

/// The keyed unions and every schema they refer to, transitively.
pub fn reachable(schemas: &Map<String, Value>) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = names(schemas).into_iter().collect();
    while let Some(name) = todo.pop() {
        let Some(schema) = schemas.get(&name) else {
            continue;
        };
        if seen.insert(name.clone()) {
            collect_refs(schema, &mut todo);
        }
    }
    seen
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = ref_name(value) {
                out.push(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(list) => list.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
