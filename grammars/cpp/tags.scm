; C++: function definitions (members inside a class body, and out-of-line `Widget::draw`
; definitions, become methods in symbols.py), classes and structs with a body, namespaces as
; modules. A template wraps its definition, so the comment sits before the
; template_declaration: those forms are matched separately for their doc.

((comment)* @doc
  .
  (function_definition
    declarator: [(function_declarator declarator: (_) @name)
                 (pointer_declarator declarator: (function_declarator declarator: (_) @name))
                 (reference_declarator (function_declarator declarator: (_) @name))]) @definition.function)

((comment)* @doc
  .
  (template_declaration
    (function_definition
      declarator: [(function_declarator declarator: (_) @name)
                   (pointer_declarator declarator: (function_declarator declarator: (_) @name))
                   (reference_declarator (function_declarator declarator: (_) @name))]) @definition.function))

((comment)* @doc
  .
  [(class_specifier name: (type_identifier) @name body: (field_declaration_list))
   (struct_specifier name: (type_identifier) @name body: (field_declaration_list))] @definition.class)

((comment)* @doc
  .
  (template_declaration
    [(class_specifier name: (type_identifier) @name body: (field_declaration_list))
     (struct_specifier name: (type_identifier) @name body: (field_declaration_list))] @definition.class))

((comment)* @doc
  .
  (namespace_definition name: (namespace_identifier) @name) @definition.module)
