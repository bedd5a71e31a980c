"""Fleet tool: many Supabase projects, one Pulumi stack each, on one or more Docker hosts."""
