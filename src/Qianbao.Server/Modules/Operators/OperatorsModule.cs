using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Operators.Audit;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Operators;

/// <summary>
/// Operators: the bootstrap key, operator accounts (invitation, password + TOTP login, disabling), roles and the access
/// filter of every <c>/admin/v1</c> route, and the hash-chained audit log of operator actions and security events.
/// </summary>
internal static class OperatorsModule
{
    public static IServiceCollection AddOperatorsModule(this IServiceCollection services)
    {
        services.AddSingleton(sp => Startup.LoadOperatorKey(sp.GetRequiredService<QianbaoOptions>()));
        services.AddSingleton(sp => new OperatorTokens(Startup.LoadOrCreateSecret(sp.GetRequiredService<Db>(), "operator_token_key"),
            sp.GetRequiredService<TimeProvider>(), TimeSpan.FromMinutes(sp.GetRequiredService<QianbaoOptions>().Auth.OperatorTokenLifetimeMinutes)));
        services.AddSingleton<DisabledOperators>();
        services.AddHostedService<DisabledOperatorWatcher>();
        services.AddSingleton<AuditLog>();
        return services;
    }

    public static IEndpointRouteBuilder MapOperatorsModule(this IEndpointRouteBuilder app)
    {
        CreateOperator.Map(app);
        AcceptInvitation.Map(app);
        IssueOperatorToken.Map(app);
        ListOperators.Map(app);
        DisableOperator.Map(app);
        ListAudit.Map(app);
        return app;
    }
}
