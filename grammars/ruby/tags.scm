; Ruby: classes, modules, and methods (`def self.x` too). A `def` outside any class or module
; is a plain function (decided in symbols.py). `class Outer::Inner` qualifies itself.
; The run of `#` comments right above a definition is its doc.

((comment)* @doc
  .
  [(method name: (_) @name)
   (singleton_method name: (_) @name)] @definition.method)

((comment)* @doc
  .
  (class name: [(constant) (scope_resolution)] @name) @definition.class)

((comment)* @doc
  .
  (module name: [(constant) (scope_resolution)] @name) @definition.module)
