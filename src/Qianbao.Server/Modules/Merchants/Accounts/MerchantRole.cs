namespace Qianbao.Server.Modules.Merchants.Accounts;

/// <summary>
/// What a merchant's staff member may do; stored as its snake_case name, carried in tokens as its number (never renumber).
/// <c>admin</c>: everything, including staff; <c>cashier</c>: trades and refunds up to
/// <c>Qianbao:Merchant:CashierRefundMaxMinor</c>; <c>analyst</c>: read-only.
/// </summary>
internal enum MerchantRole : byte
{
    Admin = 1,
    Cashier = 2,
    Analyst = 3,
}

internal static class MerchantRoles
{
    public static readonly MerchantRole[] All = [MerchantRole.Admin, MerchantRole.Cashier, MerchantRole.Analyst];

    public static string Name(MerchantRole role) => role switch
    {
        MerchantRole.Admin => "admin",
        MerchantRole.Cashier => "cashier",
        MerchantRole.Analyst => "analyst",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "unknown merchant role"),
    };

    public static bool TryParse(string? text, out MerchantRole role)
    {
        role = text switch
        {
            "admin" => MerchantRole.Admin,
            "cashier" => MerchantRole.Cashier,
            "analyst" => MerchantRole.Analyst,
            _ => 0,
        };
        return role != 0;
    }
}

/// <summary>Who is calling a <c>/merchant/v1</c> route: the staff member, their merchant and role.</summary>
internal readonly record struct MerchantPrincipal(Guid StaffId, Guid MerchantId, MerchantRole Role);
