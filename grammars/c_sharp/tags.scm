; C#: classes, structs and records as classes, interfaces, methods, constructors, local
; functions, and block namespaces as modules. The `///` XML doc comment lines right above a
; declaration are its doc (symbols.py strips the XML tags). Attributes live inside the
; declaration node, so nothing sits between the comment and the declaration.

((comment)* @doc
  .
  [(class_declaration name: (identifier) @name)
   (struct_declaration name: (identifier) @name)
   (record_declaration name: (identifier) @name)] @definition.class)

((comment)* @doc
  .
  (interface_declaration name: (identifier) @name) @definition.interface)

((comment)* @doc
  .
  [(method_declaration name: (identifier) @name)
   (constructor_declaration name: (identifier) @name)] @definition.method)

((comment)* @doc
  .
  (local_function_statement name: (identifier) @name) @definition.function)

((comment)* @doc
  .
  (namespace_declaration name: [(identifier) (qualified_name)] @name) @definition.module)
