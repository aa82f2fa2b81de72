; Java: classes, enums and records as classes, interfaces, methods and constructors.
; The Javadoc is the /** ... */ block right above the declaration (annotations are inside
; the declaration's modifiers, so nothing sits between).

((block_comment)* @doc
  .
  [(class_declaration name: (identifier) @name)
   (enum_declaration name: (identifier) @name)
   (record_declaration name: (identifier) @name)] @definition.class)

((block_comment)* @doc
  .
  [(interface_declaration name: (identifier) @name)
   (annotation_type_declaration name: (identifier) @name)] @definition.interface)

((block_comment)* @doc
  .
  [(method_declaration name: (identifier) @name)
   (constructor_declaration name: (identifier) @name)] @definition.method)
