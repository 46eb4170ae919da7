using Qianbao.Server.Hosting;

namespace Qianbao.Server.Modules.Operators;

/// <summary>Operators: the bootstrap key, operator accounts and roles, the access filter of every <c>/admin/v1</c> route.</summary>
internal static class OperatorsModule
{
    public static IServiceCollection AddOperatorsModule(this IServiceCollection services)
    {
        services.AddSingleton(sp => Startup.LoadOperatorKey(sp.GetRequiredService<QianbaoOptions>()));
        return services;
    }

    public static IEndpointRouteBuilder MapOperatorsModule(this IEndpointRouteBuilder app) => app;
}
