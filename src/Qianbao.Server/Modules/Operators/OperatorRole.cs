namespace Qianbao.Server.Modules.Operators;

/// <summary>
/// What an operator may do. <see cref="Owner"/> may do everything, plus operators and keys; the others only the routes
/// that name them (<see cref="OperatorAccess.RequireOperator{TBuilder}"/>). Stored by name; never rename one.
/// </summary>
internal enum OperatorRole
{
    /// <summary>Everything, plus operators and keys; the bootstrap operator key is an owner.</summary>
    Owner,

    /// <summary>Cases, freezes, watchlist, tiers, the audit log.</summary>
    Risk,

    /// <summary>Users, complaints, read-only trades and notifications.</summary>
    Support,

    /// <summary>Payouts, the ledger check, reports.</summary>
    Finance,
}

/// <summary>Who is calling an operator route: an operator account (null id for the bootstrap operator key) and its role.</summary>
internal readonly record struct OperatorPrincipal(Guid? OperatorId, OperatorRole Role)
{
    public static OperatorPrincipal Bootstrap => new(null, OperatorRole.Owner);

    /// <summary>How the audit log names the actor: the operator's id, or <c>bootstrap</c> for the operator key.</summary>
    public string Actor => OperatorId?.ToString() ?? "bootstrap";
}

/// <summary>The roles a route allows besides <see cref="OperatorRole.Owner"/> (endpoint metadata; shown in OpenAPI).</summary>
internal sealed record OperatorRoles(IReadOnlyList<OperatorRole> Allowed)
{
    public bool Allows(OperatorRole role) => role == OperatorRole.Owner || Allowed.Contains(role);

    /// <summary>snake_case names, owner first: <c>owner, risk</c>.</summary>
    public string Describe() => string.Join(", ", new[] { OperatorRole.Owner }.Concat(Allowed.Where(r => r != OperatorRole.Owner)).Select(Name));

    public static string Name(OperatorRole role) => role.ToString().ToLowerInvariant();

    /// <summary>A role from its snake_case name (<c>owner</c>, <c>risk</c>, <c>support</c>, <c>finance</c>); exact spelling only.</summary>
    public static bool TryParse(string? name, out OperatorRole role)
    {
        foreach (var candidate in Enum.GetValues<OperatorRole>())
        {
            if (name == Name(candidate))
            {
                role = candidate;
                return true;
            }
        }
        role = default;
        return false;
    }
}

/// <summary>Marks the two <c>/admin/v1</c> routes that take no operator credential: accepting an invitation and logging in.</summary>
internal sealed record AnonymousOperatorRoute;
