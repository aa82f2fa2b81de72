; Rust: functions (methods when inside an impl or trait; the impl's type qualifies the name in
; symbols.py), structs, enums and unions as classes, traits as interfaces, inline modules.
; `///` doc comments may be separated from the item by attributes such as #[derive(...)].

((line_comment)* @doc
  .
  (attribute_item)*
  .
  (function_item name: (identifier) @name) @definition.function)

((line_comment)* @doc
  .
  (attribute_item)*
  .
  (function_signature_item name: (identifier) @name) @definition.method)

((line_comment)* @doc
  .
  (attribute_item)*
  .
  [(struct_item name: (type_identifier) @name)
   (enum_item name: (type_identifier) @name)
   (union_item name: (type_identifier) @name)] @definition.class)

((line_comment)* @doc
  .
  (attribute_item)*
  .
  (trait_item name: (type_identifier) @name) @definition.interface)

((line_comment)* @doc
  .
  (attribute_item)*
  .
  (mod_item name: (identifier) @name body: (declaration_list)) @definition.module)
