namespace Qianbao.Server.Modules.Admin;

/// <summary>Operator endpoints that belong to no single capability: the ledger check and freezes.</summary>
internal static class AdminModule
{
    public static IEndpointRouteBuilder MapAdminModule(this IEndpointRouteBuilder app)
    {
        CheckLedger.Map(app);
        FreezeUser.Map(app);
        return app;
    }
}
