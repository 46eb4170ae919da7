namespace Qianbao.Server.Modules.Wallet;

/// <summary>A person's wallet: balances, transfers, top-ups, withdrawals and history. Its state is the ledger's.</summary>
internal static class WalletModule
{
    public static IServiceCollection AddWalletModule(this IServiceCollection services) =>
        services.AddSingleton<Identity.DataRights.IPersonalDataSource, WalletPersonalData>();

    public static IEndpointRouteBuilder MapWalletModule(this IEndpointRouteBuilder app)
    {
        GetWallet.Map(app);
        CreateTopUp.Map(app);
        CreateWithdrawal.Map(app);
        CreateTransfer.Map(app);
        GetTransfer.Map(app);
        ListTransactions.Map(app);
        return app;
    }
}
