# from tvm.script import ir as I
# from tvm.script import tirx as T
# from tvm.tirx.layout import Axis

@I.ir_module
class Module:
    @T.prim_func(s_tir=True)
    def main(Q: T.Buffer((32, 256, 128), "float32"), K: T.Buffer((8, 256, 128), "float32"), V: T.Buffer((8, 256, 128), "float32"), O: T.Buffer((32, 256, 128), "float32")):
        T.func_attr({"tirx.noalias": True})
        # with T.sblock("root"):
        scores = T.sblock_alloc_buffer((32, 256, 256))
        row_max = T.sblock_alloc_buffer((32, 256))
        exps = T.sblock_alloc_buffer((32, 256, 256))
        row_sum = T.sblock_alloc_buffer((32, 256))
        row_sum_rf = T.sblock_alloc_buffer((32, 256, 8))
        row_max_rf = T.sblock_alloc_buffer((32, 256, 4))
        O_global = T.sblock_alloc_buffer((32, 256, 128))
        scores_global = T.sblock_alloc_buffer((32, 256, 256))
        for h_0_i_0_fused_fused in T.parallel(32):
            for j_0 in range(2):
                for h_1, i_1, j_1 in T.grid(8, 1, 4):
                    for h_2_init, i_2_init, j_2_init, h_3_init, i_3_init in T.grid(2, 2, 1, 1, 8):
                        for j_3_fused_init in T.vectorized(32):
                            with T.sblock("scores_init"):
                                v_h = T.axis.spatial(32, h_0_i_0_fused_fused // 16 * 16 + h_1 * 2 + h_2_init + h_3_init)
                                v_i = T.axis.spatial(256, h_0_i_0_fused_fused % 16 * 16 + i_1 * 16 + i_2_init * 8 + i_3_init)
                                v_j = T.axis.spatial(256, j_0 * 128 + j_1 * 32 + j_2_init * 32 + j_3_fused_init)
                                T.reads()
                                T.writes(scores_global[v_h, v_i, v_j])
                                T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                                scores_global[v_h, v_i, v_j] = T.float32(0.0)
                    for d_0, h_2, i_2, j_2, d_1, h_3, i_3 in T.grid(128, 2, 2, 1, 1, 1, 8):
                        for j_3_fused in T.vectorized(32):
                            with T.sblock("scores_update"):
                                v_h = T.axis.spatial(32, h_0_i_0_fused_fused // 16 * 16 + h_1 * 2 + h_2 + h_3)
                                v_i = T.axis.spatial(256, h_0_i_0_fused_fused % 16 * 16 + i_1 * 16 + i_2 * 8 + i_3)
                                v_j = T.axis.spatial(256, j_0 * 128 + j_1 * 32 + j_2 * 32 + j_3_fused)
                                v_d = T.axis.reduce(128, d_0 + d_1)
                                T.reads(scores_global[v_h, v_i, v_j], Q[v_h, v_i, v_d], K[v_h // 4, v_j, v_d])
                                T.writes(scores_global[v_h, v_i, v_j])
                                T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                                scores_global[v_h, v_i, v_j] = scores_global[v_h, v_i, v_j] + Q[v_h, v_i, v_d] * K[v_h // 4, v_j, v_d]
                for ax0, ax1, ax2 in T.grid(16, 16, 128):
                    with T.sblock("scores_global"):
                        v0 = T.axis.spatial(32, h_0_i_0_fused_fused // 16 * 16 + ax0)
                        v1 = T.axis.spatial(256, h_0_i_0_fused_fused % 16 * 16 + ax1)
                        v2 = T.axis.spatial(256, j_0 * 128 + ax2)
                        T.reads(scores_global[v0, v1, v2])
                        T.writes(scores[v0, v1, v2])
                        scores[v0, v1, v2] = scores_global[v0, v1, v2]
        for h_0_fused_fused_fused_fused_fused_fused_fused in T.parallel(4):
            for ax0, ax1, ax2 in T.grid(4, 8, 256):
                with T.sblock("row_max_rf_init"):
                    vj_1 = T.axis.spatial(4, ax0)
                    v_h = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + ax1)
                    v_i = T.axis.spatial(256, ax2)
                    T.reads()
                    T.writes(row_max_rf[v_h, v_i, vj_1])
                    row_max_rf[v_h, v_i, vj_1] = T.float32(-340282346638528859811704183484516925440.0)
                for ax3 in range(64):
                    with T.sblock("row_max_rf_update"):
                        vj_1 = T.axis.spatial(4, ax0)
                        v_h = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + ax1)
                        v_i, vj_0 = T.axis.remap("SR", [ax2, ax3])
                        T.reads(row_max_rf[v_h, v_i, vj_1], scores[v_h, v_i, vj_0 * 4 + vj_1])
                        T.writes(row_max_rf[v_h, v_i, vj_1])
                        row_max_rf[v_h, v_i, vj_1] = T.max(row_max_rf[v_h, v_i, vj_1], scores[v_h, v_i, vj_0 * 4 + vj_1])
            for ax1_init, ax2_init in T.grid(8, 256):
                with T.sblock("row_max_init"):
                    v_h = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + ax1_init)
                    v_i = T.axis.spatial(256, ax2_init)
                    T.reads()
                    T.writes(row_max[v_h, v_i])
                    row_max[v_h, v_i] = T.float32(-340282346638528859811704183484516925440.0)
            for ax0, ax1, ax2 in T.grid(4, 8, 256):
                with T.sblock("row_max_update"):
                    vj_1 = T.axis.reduce(4, ax0)
                    v_h = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + ax1)
                    v_i = T.axis.spatial(256, ax2)
                    T.reads(row_max[v_h, v_i], row_max_rf[v_h, v_i, vj_1])
                    T.writes(row_max[v_h, v_i])
                    row_max[v_h, v_i] = T.max(row_max[v_h, v_i], row_max_rf[v_h, v_i, vj_1])
            for i_0, c_0, h_1 in T.grid(1, 1, 4):
                for ax0, ax1, ax2 in T.grid(2, 256, 256):
                    with T.sblock("exps"):
                        v_h = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + h_1 * 2 + ax0)
                        v_i, v_c = T.axis.remap("SS", [ax1, ax2])
                        T.reads(scores[v_h, v_i, v_c], row_max[v_h, v_i])
                        T.writes(exps[v_h, v_i, v_c])
                        exps[v_h, v_i, v_c] = T.exp((scores[v_h, v_i, v_c] - row_max[v_h, v_i]) * T.float32(0.088388347648318433))
                for ax0_init, ax0_init_1, ax1_init, ax2_init in T.grid(8, 1, 2, 256):
                    with T.sblock("row_sum_rf_init"):
                        vj2_0 = T.axis.spatial(8, ax0_init + ax0_init_1)
                        v_h = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + h_1 * 2 + ax1_init)
                        v_i = T.axis.spatial(256, ax2_init)
                        T.reads()
                        T.writes(row_sum_rf[v_h, v_i, vj2_0])
                        row_sum_rf[v_h, v_i, vj2_0] = T.float32(0.0)
                for ax1_init, ax2_init in T.grid(2, 256):
                    with T.sblock("row_sum_init"):
                        v_h = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + h_1 * 2 + ax1_init)
                        v_i = T.axis.spatial(256, ax2_init)
                        T.reads()
                        T.writes(row_sum[v_h, v_i])
                        row_sum[v_h, v_i] = T.float32(0.0)
                for ax0 in range(8):
                    for ax0_1, ax1, ax2, ax3 in T.grid(1, 2, 256, 32):
                        with T.sblock("row_sum_rf_update"):
                            vj2_0 = T.axis.spatial(8, ax0 + ax0_1)
                            v_h = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + h_1 * 2 + ax1)
                            v_i, vj2_1 = T.axis.remap("SR", [ax2, ax3])
                            T.reads(row_sum_rf[v_h, v_i, vj2_0], exps[v_h, v_i, vj2_0 * 32 + vj2_1])
                            T.writes(row_sum_rf[v_h, v_i, vj2_0])
                            row_sum_rf[v_h, v_i, vj2_0] = row_sum_rf[v_h, v_i, vj2_0] + exps[v_h, v_i, vj2_0 * 32 + vj2_1]
                    for ax1, ax2 in T.grid(2, 256):
                        with T.sblock("row_sum_update"):
                            vj2_0 = T.axis.reduce(8, ax0)
                            v_h = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + h_1 * 2 + ax1)
                            v_i = T.axis.spatial(256, ax2)
                            T.reads(row_sum[v_h, v_i], row_sum_rf[v_h, v_i, vj2_0])
                            T.writes(row_sum[v_h, v_i])
                            row_sum[v_h, v_i] = row_sum[v_h, v_i] + row_sum_rf[v_h, v_i, vj2_0]
                for i_1, c_1 in T.grid(4, 4):
                    for h_2_init, i_2_init, c_2_init, h_3_init, i_3_init in T.grid(1, 2, 1, 2, 32):
                        for c_3_fused_init in T.vectorized(32):
                            with T.sblock("O_init"):
                                v_h = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + h_1 * 2 + h_2_init * 2 + h_3_init)
                                v_i = T.axis.spatial(256, i_0 * 256 + i_1 * 64 + i_2_init * 32 + i_3_init)
                                v_c = T.axis.spatial(128, c_0 * 128 + c_1 * 32 + c_2_init * 32 + c_3_fused_init)
                                T.reads()
                                T.writes(O_global[v_h, v_i, v_c])
                                T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                                O_global[v_h, v_i, v_c] = T.float32(0.0)
                    for j_0, h_2, i_2, c_2, j_1, h_3, i_3 in T.grid(8, 1, 2, 1, 32, 2, 32):
                        for c_3_fused in T.vectorized(32):
                            with T.sblock("O_update"):
                                v_h = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + h_1 * 2 + h_2 * 2 + h_3)
                                v_i = T.axis.spatial(256, i_0 * 256 + i_1 * 64 + i_2 * 32 + i_3)
                                v_c = T.axis.spatial(128, c_0 * 128 + c_1 * 32 + c_2 * 32 + c_3_fused)
                                v_j = T.axis.reduce(256, j_0 * 32 + j_1)
                                T.reads(O_global[v_h, v_i, v_c], exps[v_h, v_i, v_j], row_sum[v_h, v_i], V[v_h // 4, v_j, v_c])
                                T.writes(O_global[v_h, v_i, v_c])
                                T.sblock_attr({"meta_schedule.tiling_structure": "SSRSRS"})
                                O_global[v_h, v_i, v_c] = O_global[v_h, v_i, v_c] + exps[v_h, v_i, v_j] / row_sum[v_h, v_i] * V[v_h // 4, v_j, v_c]
                    for ax0, ax1 in T.grid(2, 64):
                        for ax2_fused in T.vectorized(32):
                            with T.sblock("O_global"):
                                v0 = T.axis.spatial(32, h_0_fused_fused_fused_fused_fused_fused_fused * 8 + h_1 * 2 + ax0)
                                v1 = T.axis.spatial(256, i_1 * 64 + ax1)
                                v2 = T.axis.spatial(128, c_1 * 32 + ax2_fused)
                                T.reads(O_global[v0, v1, v2])
                                T.writes(O[v0, v1, v2])
                                O[v0, v1, v2] = O_global[v0, v1, v2]