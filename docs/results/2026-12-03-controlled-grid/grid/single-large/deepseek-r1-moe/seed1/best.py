# from tvm.script import ir as I
# from tvm.script import tirx as T
# from tvm.tirx.layout import Axis

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(X: T.Buffer((4, 7168), "float32"), G: T.Buffer((4, 2), "float32"), W1: T.Buffer((4, 2048, 7168), "float32"), W3: T.Buffer((4, 2048, 7168), "float32"), W2: T.Buffer((4, 7168, 2048), "float32"), Y: T.Buffer((4, 7168), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        gate_proj = T.sblock_alloc_buffer((4, 2, 2048))
        gated_silu = T.sblock_alloc_buffer((4, 2, 2048))
        up_proj = T.sblock_alloc_buffer((4, 2, 2048))
        down_proj = T.sblock_alloc_buffer((4, 2, 7168))
        down_proj_global = T.sblock_alloc_buffer((4, 2, 7168))
        up_proj_global = T.sblock_alloc_buffer((4, 2, 2048))
        for t_0_k_0_i_0_fused in T.parallel(512, annotations={"pragma_auto_unroll_max_step": 64, "pragma_unroll_explicit": 1}):
            for t_1, k_1, i_1 in T.grid(2, 2, 1):
                for t_2_init, k_2_init, i_2_init, t_3_init, k_3_init, i_3_init in T.grid(2, 1, 4, 1, 1, 1):
                    with T.sblock("gate_proj_init"):
                        v_t = T.axis.spatial(4, t_1 * 2 + t_2_init + t_3_init)
                        v_k = T.axis.spatial(2, k_1 + k_2_init + k_3_init)
                        v_i = T.axis.spatial(2048, t_0_k_0_i_0_fused * 4 + i_1 * 4 + i_2_init + i_3_init)
                        T.reads()
                        T.writes(gate_proj[v_t, v_k, v_i])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        gate_proj[v_t, v_k, v_i] = T.float32(0.0)
                for h_0, t_2, k_2, i_2, h_1, t_3, k_3, i_3 in T.grid(512, 2, 1, 4, 14, 1, 1, 1):
                    with T.sblock("gate_proj_update"):
                        v_t = T.axis.spatial(4, t_1 * 2 + t_2 + t_3)
                        v_k = T.axis.spatial(2, k_1 + k_2 + k_3)
                        v_i = T.axis.spatial(2048, t_0_k_0_i_0_fused * 4 + i_1 * 4 + i_2 + i_3)
                        v_h = T.axis.reduce(7168, h_0 * 14 + h_1)
                        T.reads(gate_proj[v_t, v_k, v_i], W1[(v_t + v_k) % 4, v_i, v_h], X[v_t, v_h])
                        T.writes(gate_proj[v_t, v_k, v_i])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        gate_proj[v_t, v_k, v_i] = gate_proj[v_t, v_k, v_i] + W1[(v_t + v_k) % 4, v_i, v_h] * X[v_t, v_h]
            for ax0, ax1 in T.grid(4, 2):
                for ax2_fused in T.vectorized(4):
                    with T.sblock("gated_silu"):
                        v_t, v_k = T.axis.remap("SS", [ax0, ax1])
                        v_i = T.axis.spatial(2048, t_0_k_0_i_0_fused * 4 + ax2_fused)
                        T.reads(G[v_t, v_k], gate_proj[v_t, v_k, v_i])
                        T.writes(gated_silu[v_t, v_k, v_i])
                        gated_silu[v_t, v_k, v_i] = G[v_t, v_k] * gate_proj[v_t, v_k, v_i] / (T.float32(1.0) + T.exp(gate_proj[v_t, v_k, v_i] * T.float32(-1.0)))
        for t_0_k_0_i_0_fused in T.parallel(256, annotations={"pragma_auto_unroll_max_step": 64, "pragma_unroll_explicit": 1}):
            for t_1, k_1, i_1 in T.grid(1, 1, 4):
                for t_2_init, k_2_init, i_2_init, t_3_init, k_3_init in T.grid(2, 1, 4, 1, 1):
                    for i_3_fused_init in T.vectorized(2):
                        with T.sblock("up_proj_init"):
                            v_t = T.axis.spatial(4, t_0_k_0_i_0_fused // 128 * 2 + t_1 * 2 + t_2_init + t_3_init)
                            v_k = T.axis.spatial(2, t_0_k_0_i_0_fused % 128 // 64 + k_1 + k_2_init + k_3_init)
                            v_i = T.axis.spatial(2048, t_0_k_0_i_0_fused % 64 * 32 + i_1 * 8 + i_2_init * 2 + i_3_fused_init)
                            T.reads()
                            T.writes(up_proj_global[v_t, v_k, v_i])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            up_proj_global[v_t, v_k, v_i] = T.float32(0.0)
                for h_0, t_2, k_2, i_2, h_1, t_3, k_3 in T.grid(448, 2, 1, 4, 16, 1, 1):
                    for i_3_fused in T.vectorized(2):
                        with T.sblock("up_proj_update"):
                            v_t = T.axis.spatial(4, t_0_k_0_i_0_fused // 128 * 2 + t_1 * 2 + t_2 + t_3)
                            v_k = T.axis.spatial(2, t_0_k_0_i_0_fused % 128 // 64 + k_1 + k_2 + k_3)
                            v_i = T.axis.spatial(2048, t_0_k_0_i_0_fused % 64 * 32 + i_1 * 8 + i_2 * 2 + i_3_fused)
                            v_h = T.axis.reduce(7168, h_0 * 16 + h_1)
                            T.reads(up_proj_global[v_t, v_k, v_i], W3[(v_t + v_k) % 4, v_i, v_h], X[v_t, v_h])
                            T.writes(up_proj_global[v_t, v_k, v_i])
                            T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                            up_proj_global[v_t, v_k, v_i] = up_proj_global[v_t, v_k, v_i] + W3[(v_t + v_k) % 4, v_i, v_h] * X[v_t, v_h]
                for ax0, ax1 in T.grid(2, 1):
                    for ax2_fused in T.vectorized(8):
                        with T.sblock("up_proj_global"):
                            v0 = T.axis.spatial(4, t_0_k_0_i_0_fused // 128 * 2 + ax0)
                            v1 = T.axis.spatial(2, t_0_k_0_i_0_fused % 128 // 64 + ax1)
                            v2 = T.axis.spatial(2048, t_0_k_0_i_0_fused % 64 * 32 + i_1 * 8 + ax2_fused)
                            T.reads(up_proj_global[v0, v1, v2])
                            T.writes(up_proj[v0, v1, v2])
                            up_proj[v0, v1, v2] = up_proj_global[v0, v1, v2]
        for t_0_k_0_c_0_t_1_k_1_c_1_fused in T.parallel(896, annotations={"pragma_auto_unroll_max_step": 64, "pragma_unroll_explicit": 1}):
            for t_2_init, k_2_init, c_2_init, t_3_init, k_3_init in T.grid(2, 2, 8, 1, 1):
                for c_3_fused_init in T.vectorized(2):
                    with T.sblock("down_proj_init"):
                        v_t = T.axis.spatial(4, t_0_k_0_c_0_t_1_k_1_c_1_fused % 64 // 32 * 2 + t_2_init + t_3_init)
                        v_k = T.axis.spatial(2, k_2_init + k_3_init)
                        v_c = T.axis.spatial(7168, t_0_k_0_c_0_t_1_k_1_c_1_fused // 64 * 512 + t_0_k_0_c_0_t_1_k_1_c_1_fused % 32 * 16 + c_2_init * 2 + c_3_fused_init)
                        T.reads()
                        T.writes(down_proj_global[v_t, v_k, v_c])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        down_proj_global[v_t, v_k, v_c] = T.float32(0.0)
            for j_0, t_2, k_2, c_2, j_1, t_3, k_3 in T.grid(512, 2, 2, 8, 4, 1, 1):
                for c_3_fused in T.vectorized(2):
                    with T.sblock("down_proj_update"):
                        v_t = T.axis.spatial(4, t_0_k_0_c_0_t_1_k_1_c_1_fused % 64 // 32 * 2 + t_2 + t_3)
                        v_k = T.axis.spatial(2, k_2 + k_3)
                        v_c = T.axis.spatial(7168, t_0_k_0_c_0_t_1_k_1_c_1_fused // 64 * 512 + t_0_k_0_c_0_t_1_k_1_c_1_fused % 32 * 16 + c_2 * 2 + c_3_fused)
                        v_j = T.axis.reduce(2048, j_0 * 4 + j_1)
                        T.reads(down_proj_global[v_t, v_k, v_c], W2[(v_t + v_k) % 4, v_c, v_j], gated_silu[v_t, v_k, v_j], up_proj[v_t, v_k, v_j])
                        T.writes(down_proj_global[v_t, v_k, v_c])
                        T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                        down_proj_global[v_t, v_k, v_c] = down_proj_global[v_t, v_k, v_c] + W2[(v_t + v_k) % 4, v_c, v_j] * gated_silu[v_t, v_k, v_j] * up_proj[v_t, v_k, v_j]
            for ax0, ax1 in T.grid(2, 2):
                for ax2_fused in T.vectorized(16):
                    with T.sblock("down_proj_global"):
                        v0 = T.axis.spatial(4, t_0_k_0_c_0_t_1_k_1_c_1_fused % 64 // 32 * 2 + ax0)
                        v1 = T.axis.spatial(2, ax1)
                        v2 = T.axis.spatial(7168, t_0_k_0_c_0_t_1_k_1_c_1_fused // 64 * 512 + t_0_k_0_c_0_t_1_k_1_c_1_fused % 32 * 16 + ax2_fused)
                        T.reads(down_proj_global[v0, v1, v2])
                        T.writes(down_proj[v0, v1, v2])
                        down_proj[v0, v1, v2] = down_proj_global[v0, v1, v2]
        for t_c_fused in T.parallel(28672, annotations={"pragma_auto_unroll_max_step": 64, "pragma_unroll_explicit": 1}):
            with T.sblock("Y_init"):
                v_t = T.axis.spatial(4, t_c_fused // 7168)
                v_c = T.axis.spatial(7168, t_c_fused % 7168)
                T.reads()
                T.writes(Y[v_t, v_c])
                Y[v_t, v_c] = T.float32(0.0)
            for k in range(2):
                with T.sblock("Y_update"):
                    v_t = T.axis.spatial(4, t_c_fused // 7168)
                    v_c = T.axis.spatial(7168, t_c_fused % 7168)
                    v_k = T.axis.reduce(2, k)
                    T.reads(Y[v_t, v_c], down_proj[v_t, v_k, v_c])
                    T.writes(Y[v_t, v_c])
                    Y[v_t, v_c] = Y[v_t, v_c] + down_proj[v_t, v_k, v_c]