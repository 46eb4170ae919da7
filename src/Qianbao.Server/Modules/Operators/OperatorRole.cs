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
}

/// <summary>The roles a route allows besides <see cref="OperatorRole.Owner"/> (endpoint metadata; shown in OpenAPI).</summary>
internal sealed record OperatorRoles(IReadOnlyList<OperatorRole> Allowed)
{
    public bool Allows(OperatorRole role) => role == OperatorRole.Owner || Allowed.Contains(role);

    /// <summary>snake_case names, owner first: <c>owner, risk</c>.</summary>
    public string Describe() => string.Join(", ", new[] { OperatorRole.Owner }.Concat(Allowed.Where(r => r != OperatorRole.Owner)).Select(Name));

    public static string Name(OperatorRole role) => role.ToString().ToLowerInvariant();
}
