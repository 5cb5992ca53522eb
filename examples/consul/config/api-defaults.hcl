# api speaks HTTP, which L7 intention permissions require.
#   consul config write config/api-defaults.hcl
# Not an intentions entry: the linter must report nothing here.
Kind     = "service-defaults"
Name     = "api"
Protocol = "http"
