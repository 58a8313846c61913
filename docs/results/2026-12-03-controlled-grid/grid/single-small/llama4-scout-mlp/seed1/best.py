# from tvm.script import ir as I
# from tvm.script import tirx as T
# from tvm.tirx.layout import Axis

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(X: T.Buffer((4, 5120), "float32"), W_gate: T.Buffer((8192, 5120), "float32"), W_up: T.Buffer((8192, 5120), "float32"), W_down: T.Buffer((5120, 8192), "float32"), Y: T.Buffer((4, 5120), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        gate_proj = T.sblock_alloc_buffer((4, 8192))
        silu_gate = T.sblock_alloc_buffer((4, 8192))
        up_proj = T.sblock_alloc_buffer((4, 8192))
        Y_global = T.sblock_alloc_buffer((4, 5120))
        up_proj_global = T.sblock_alloc_buffer((4, 8192))
        for t_0_o_0_fused in T.parallel(32, annotations={"pragma_auto_unroll_max_step": 16, "pragma_unroll_explicit": 1}):
            for t_1, o_1 in T.grid(1, 32):
                for t_2_init, o_2_init, t_3_init in T.grid(4, 4, 1):
                    for o_3_fused_init in T.vectorized(2):
                        with T.sblock("gate_proj_init"):
                            v_t = T.axis.spatial(4, t_1 * 4 + t_2_init + t_3_init)
                            v_o = T.axis.spatial(8192, t_0_o_0_fused * 256 + o_1 * 8 + o_2_init * 2 + o_3_fused_init)
                            T.reads()
                            T.writes(gate_proj[v_t, v_o])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            gate_proj[v_t, v_o] = T.float32(0.0)
                for r_0, t_2, o_2, r_1, t_3 in T.grid(5120, 4, 4, 1, 1):
                    for o_3_fused in T.vectorized(2):
                        with T.sblock("gate_proj_update"):
                            v_t = T.axis.spatial(4, t_1 * 4 + t_2 + t_3)
                            v_o = T.axis.spatial(8192, t_0_o_0_fused * 256 + o_1 * 8 + o_2 * 2 + o_3_fused)
                            v_r = T.axis.reduce(5120, r_0 + r_1)
                            T.reads(gate_proj[v_t, v_o], X[v_t, v_r], W_gate[v_o, v_r])
                            T.writes(gate_proj[v_t, v_o])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            gate_proj[v_t, v_o] = gate_proj[v_t, v_o] + X[v_t, v_r] * W_gate[v_o, v_r]
            for ax0, ax1 in T.grid(4, 256):
                with T.sblock("silu_gate"):
                    v_t = T.axis.spatial(4, ax0)
                    v_i = T.axis.spatial(8192, t_0_o_0_fused * 256 + ax1)
                    T.reads(gate_proj[v_t, v_i])
                    T.writes(silu_gate[v_t, v_i])
                    silu_gate[v_t, v_i] = gate_proj[v_t, v_i] / (T.float32(1.0) + T.exp(gate_proj[v_t, v_i] * T.float32(-1.0)))
        for t_0_o_0_t_1_o_1_fused in T.parallel(2048, annotations={"pragma_auto_unroll_max_step": 16, "pragma_unroll_explicit": 1}):
            for t_2_init, o_2_init, t_3_init in T.grid(2, 1, 1):
                for o_3_fused_init in T.vectorized(8):
                    with T.sblock("up_proj_init"):
                        v_t = T.axis.spatial(4, t_0_o_0_t_1_o_1_fused // 1024 * 2 + t_2_init + t_3_init)
                        v_o = T.axis.spatial(8192, t_0_o_0_t_1_o_1_fused % 1024 * 8 + o_2_init * 8 + o_3_fused_init)
                        T.reads()
                        T.writes(up_proj_global[v_t, v_o])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        up_proj_global[v_t, v_o] = T.float32(0.0)
            for r_0, t_2, o_2, r_1, t_3 in T.grid(320, 2, 1, 16, 1):
                for o_3_fused in T.vectorized(8):
                    with T.sblock("up_proj_update"):
                        v_t = T.axis.spatial(4, t_0_o_0_t_1_o_1_fused // 1024 * 2 + t_2 + t_3)
                        v_o = T.axis.spatial(8192, t_0_o_0_t_1_o_1_fused % 1024 * 8 + o_2 * 8 + o_3_fused)
                        v_r = T.axis.reduce(5120, r_0 * 16 + r_1)
                        T.reads(up_proj_global[v_t, v_o], X[v_t, v_r], W_up[v_o, v_r])
                        T.writes(up_proj_global[v_t, v_o])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        up_proj_global[v_t, v_o] = up_proj_global[v_t, v_o] + X[v_t, v_r] * W_up[v_o, v_r]
            for ax0 in range(2):
                for ax1_fused in T.vectorized(8):
                    with T.sblock("up_proj_global"):
                        v0 = T.axis.spatial(4, t_0_o_0_t_1_o_1_fused // 1024 * 2 + ax0)
                        v1 = T.axis.spatial(8192, t_0_o_0_t_1_o_1_fused % 1024 * 8 + ax1_fused)
                        T.reads(up_proj_global[v0, v1])
                        T.writes(up_proj[v0, v1])
                        up_proj[v0, v1] = up_proj_global[v0, v1]
        for t_0_o_0_t_1_o_1_fused in T.parallel(256, annotations={"pragma_auto_unroll_max_step": 16, "pragma_unroll_explicit": 1}):
            for t_2_init, o_2_init, t_3_init in T.grid(2, 20, 1):
                for o_3_fused_init in T.vectorized(2):
                    with T.sblock("Y_init"):
                        v_t = T.axis.spatial(4, t_0_o_0_t_1_o_1_fused // 128 * 2 + t_2_init + t_3_init)
                        v_o = T.axis.spatial(5120, t_0_o_0_t_1_o_1_fused % 128 * 40 + o_2_init * 2 + o_3_fused_init)
                        T.reads()
                        T.writes(Y_global[v_t, v_o])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        Y_global[v_t, v_o] = T.float32(0.0)
            for r_0, t_2, o_2, r_1, t_3 in T.grid(2048, 2, 20, 4, 1):
                for o_3_fused in T.vectorized(2):
                    with T.sblock("Y_update"):
                        v_t = T.axis.spatial(4, t_0_o_0_t_1_o_1_fused // 128 * 2 + t_2 + t_3)
                        v_o = T.axis.spatial(5120, t_0_o_0_t_1_o_1_fused % 128 * 40 + o_2 * 2 + o_3_fused)
                        v_r = T.axis.reduce(8192, r_0 * 4 + r_1)
                        T.reads(Y_global[v_t, v_o], silu_gate[v_t, v_r], up_proj[v_t, v_r], W_down[v_o, v_r])
                        T.writes(Y_global[v_t, v_o])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        Y_global[v_t, v_o] = Y_global[v_t, v_o] + silu_gate[v_t, v_r] * up_proj[v_t, v_r] * W_down[v_o, v_r]
            for ax0 in range(2):
                for ax1_fused in T.vectorized(40):
                    with T.sblock("Y_global"):
                        v0 = T.axis.spatial(4, t_0_o_0_t_1_o_1_fused // 128 * 2 + ax0)
                        v1 = T.axis.spatial(5120, t_0_o_0_t_1_o_1_fused % 128 * 40 + ax1_fused)
                        T.reads(Y_global[v0, v1])
                        T.writes(Y[v0, v1])
                        Y[v0, v1] = Y_global[v0, v1]