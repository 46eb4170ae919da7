namespace Qianbao.Server.Consoles.Merchant;

/// <summary>The merchant console's navigation in the shared layout (signed-out pages show none).</summary>
public static class MerchantNav
{
    public static readonly IReadOnlyList<(string Href, string TextKey)> Items =
    [
        ("/merchant", "merchant.nav.home"),
        ("/merchant/dashboard", "merchant.nav.dashboard"),
        ("/merchant/trades", "merchant.nav.trades"),
        ("/merchant/collection-code", "merchant.nav.code"),
        ("/merchant/settlements", "merchant.nav.settlements"),
        ("/merchant/apps", "merchant.nav.apps"),
        ("/merchant/notify-deliveries", "merchant.nav.deliveries"),
        ("/merchant/vouchers", "merchant.nav.vouchers"),
        ("/merchant/members", "merchant.nav.members"),
        ("/merchant/complaints", "merchant.nav.complaints"),
        ("/merchant/followers", "merchant.nav.followers"),
        ("/merchant/staff", "merchant.nav.staff"),
        ("/merchant/logout", "nav.signout"),
    ];

    public static readonly IReadOnlyList<(string Href, string TextKey)> SignedOut =
    [
        ("/merchant/login", "merchant.nav.login"),
        ("/merchant/signup", "merchant.nav.signup"),
    ];
}
