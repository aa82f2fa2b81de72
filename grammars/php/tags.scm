; PHP: functions, classes, traits and enums as classes, interfaces, methods. The /** ... */
; docblock right above a declaration is its doc. `namespace X;` without braces does not
; enclose the code after it, so it is not a symbol; braced namespaces are modules.

((comment)* @doc
  .
  (function_definition name: (name) @name) @definition.function)

((comment)* @doc
  .
  [(class_declaration name: (name) @name)
   (trait_declaration name: (name) @name)
   (enum_declaration name: (name) @name)] @definition.class)

((comment)* @doc
  .
  (interface_declaration name: (name) @name) @definition.interface)

((comment)* @doc
  .
  (method_declaration name: (name) @name) @definition.method)

((comment)* @doc
  .
  (namespace_definition name: (namespace_name) @name body: (compound_statement)) @definition.module)
