; Kotlin: classes (interfaces are class_declarations that start with the `interface` keyword),
; objects as classes, and functions (methods inside a class or object). The KDoc block or
; run of line comments right above a declaration is its doc.

((multiline_comment)* @doc
  .
  (class_declaration name: (type_identifier) @name) @definition.class)

((multiline_comment)* @doc
  .
  (class_declaration "interface" name: (type_identifier) @name) @definition.interface)

((multiline_comment)* @doc
  .
  (object_declaration name: (type_identifier) @name) @definition.class)

((multiline_comment)* @doc
  .
  (function_declaration name: (simple_identifier) @name) @definition.function)
